import { describe, expect, it } from 'vitest';
import { readFixture } from '../__fixtures__/read-fixture.ts';
import type { ChatCompletionChunk } from '../chat-api.ts';
import { chunkFromTemplate, contentTemplateOf, type ContentTemplate } from './content-template.ts';

// A recorded vLLM text delta: the plainest envelope (no usage, no obfuscation).
const recorded = readFixture('vllm-text.chunks.txt').split('\n')[1] ?? '';

function templateOf(text: string): ContentTemplate {
  const template = contentTemplateOf(JSON.parse(text), text);
  if (template === undefined) throw new Error(`no template from ${text}`);
  return template;
}

/** `text` with the content string's JSON body (between its quotes) replaced by `body`, written as is. */
function withContentBody(text: string, body: string): string {
  return text.replace(/"content":"(?:[^"\\]|\\.)*"/, () => `"content":"${body}"`);
}

describe('chunkFromTemplate', () => {
  const template = templateOf(recorded);

  it('reads a chunk that differs only in its content exactly as JSON.parse does', () => {
    for (const content of [
      '',
      'Paris',
      ' is the capital.',
      'é ü 中文 🙂',
      'tab\there',
      'line\nbreak',
      'quote " and \\ backslash',
      '</script>',
      '\u2028',
    ]) {
      const text = withContentBody(recorded, JSON.stringify(content).slice(1, -1));
      expect(chunkFromTemplate(template, text), JSON.stringify(content)).toEqual(JSON.parse(text));
    }
  });

  it('decodes escapes the way JSON.parse does, whatever form the upstream chose', () => {
    for (const body of ['caf\\u00e9', '\\ud83d\\ude42', '\\/slash', 'a\\"b', '\\\\']) {
      const text = withContentBody(recorded, body);
      expect(chunkFromTemplate(template, text), body).toEqual(JSON.parse(text));
    }
  });

  it('leaves to JSON.parse any text that is not the same chunk with another content string', () => {
    const refused = [
      // An unescaped quote: the text goes on with other members, whatever it ends with.
      withContentBody(recorded, 'a"},"logprobs":null,"finish_reason":null},{"index":1,"delta":{"content":"b'),
      // A backslash right before the closing quote escapes it.
      withContentBody(recorded, 'ends with \\'),
      // Invalid JSON: a raw control character, an unknown escape.
      withContentBody(recorded, 'raw\ttab'),
      withContentBody(recorded, 'bad \\x escape'),
      // Another envelope, finish reason or usage.
      recorded.replace('"id":"chatcmpl-', '"id":"chatcmpl-x'),
      recorded.replace('"finish_reason":null', '"finish_reason":"stop"'),
      `${recorded.slice(0, -1)},"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
      // Too short to hold the prefix and the suffix.
      '{}',
    ];
    for (const text of refused) expect(chunkFromTemplate(template, text), text).toBeUndefined();
  });

  it('hands out a fresh chunk every time, so a receiver that changes one changes nothing else', () => {
    const text = withContentBody(recorded, 'one');
    const first = chunkFromTemplate(template, text);
    if (first === undefined) throw new Error('expected a chunk');
    first.choices[0]!.delta.content = 'changed';
    first.id = 'changed';
    const second: ChatCompletionChunk | undefined = chunkFromTemplate(template, text);
    expect(second).toEqual(JSON.parse(text));
    expect(template.chunk).toEqual(JSON.parse(recorded));
  });
});

describe('contentTemplateOf', () => {
  it('is not changed by a receiver that changes the chunk it was learnt from', () => {
    const source: ChatCompletionChunk = JSON.parse(recorded);
    const template = contentTemplateOf(source, recorded);
    if (template === undefined) throw new Error('expected a template');
    source.id = 'changed';
    source.choices[0]!.logprobs = { content: [] };
    const text = withContentBody(recorded, 'next');
    expect(chunkFromTemplate(template, text)).toEqual(JSON.parse(text));
  });

  it('learns only from a plain text delta written once, without spaces around the colon', () => {
    const notPlain = [
      recorded.replace('"delta":{"content"', '"delta":{"role":"assistant","content"'),
      recorded.replace('"finish_reason":null', '"finish_reason":"stop"'),
      `${recorded.slice(0, -1)},"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
      recorded.replace('"content":', '"content": '),
      // The same content string written twice: the template could not tell which one is the delta.
      recorded.replace(
        '"object":',
        `"note":{"content":${JSON.stringify(JSON.parse(recorded).choices[0].delta.content)}},"object":`,
      ),
    ];
    for (const text of notPlain) expect(contentTemplateOf(JSON.parse(text), text), text).toBeUndefined();
  });
});
