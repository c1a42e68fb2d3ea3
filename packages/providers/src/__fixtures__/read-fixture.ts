import { readFileSync } from 'node:fs';

// Test helpers for the recorded wire data in this folder (not part of the package surface).

/** The text of a fixture file. */
export function readFixture(name: string): string {
  return readFileSync(new URL(name, import.meta.url), 'utf8');
}

/** A `*.chunks.txt` fixture (one data payload per line) framed as the SSE body an OpenAI-style server sends. */
export function readChunksAsSse(name: string, options: { done?: boolean } = {}): string {
  const lines = readFixture(name)
    .split('\n')
    .filter((line) => line.trim() !== '');
  return lines.map((line) => `data: ${line}\n\n`).join('') + (options.done === false ? '' : 'data: [DONE]\n\n');
}

/** A `*.chunks.txt` fixture of Anthropic events framed as Anthropic sends them: `event: <type>` + `data:`, no [DONE]. */
export function readAnthropicChunksAsSse(name: string): string {
  const lines = readFixture(name)
    .split('\n')
    .filter((line) => line.trim() !== '');
  return lines
    .map((line) => {
      const payload: unknown = JSON.parse(line);
      const type = typeof payload === 'object' && payload !== null ? Reflect.get(payload, 'type') : undefined;
      return `event: ${String(type)}\ndata: ${line}\n\n`;
    })
    .join('');
}
