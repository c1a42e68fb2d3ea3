import { readdirSync, readFileSync } from 'node:fs';
import type { SseMessage } from '../sse-message.ts';

/** A recorded SSE body and the messages it must decode to. */
export interface SseFixture {
  name: string;
  bytes: Uint8Array;
  expected: SseMessage[];
}

const directory = new URL('./', import.meta.url);

/** Every `*.sse` file in this folder with its `*.expected.json`. Test-only. */
export function loadSseFixtures(): SseFixture[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.sse'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.sse'.length);
      const expected: SseMessage[] = JSON.parse(readFileSync(new URL(`${name}.expected.json`, directory), 'utf8'));
      return { name, bytes: new Uint8Array(readFileSync(new URL(file, directory))), expected };
    });
}
