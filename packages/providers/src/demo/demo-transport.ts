// The `demo` kind's upstream: the stand-in's OpenAI renderers (testing/stand-in-chat.ts, stand-in-embeddings.ts)
// behind the Transport contract, so the OpenAI-compatible adapter parses real wire bytes without a socket, a port
// or a key. Every answer says it is a demo, so it cannot pass for a model's.
import { setTimeout as sleep } from 'node:timers/promises';
import { chatCompletionJson, chatStreamFrames, planChat } from '../testing/stand-in-chat.ts';
import { embeddingsJson, modelsJson } from '../testing/stand-in-embeddings.ts';
import { contentText, field, invalidRequest, type RequestProblem } from '../testing/stand-in-request.ts';
import type { Transport, TransportBody, TransportResponse } from '../transport.ts';

/** What the demo lists at GET /models; any model name is answered all the same. */
const DEMO_MODEL = 'demo-echo';

/** How every demo answer begins. */
const DEMO_PREFIX = '[demo]';

// A pause between streamed words, so that a stream is seen arriving word by word in a terminal.
const DEFAULT_CHUNK_DELAY_MS = 30;
const ECHO_WORDS = 24;

const encoder = new TextEncoder();

function headersOf(contentType: string): TransportResponse['headers'] {
  return { get: (name) => (name.toLowerCase() === 'content-type' ? contentType : null) };
}

function jsonAnswer(status: number, text: string): TransportResponse {
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: headersOf('application/json'),
    body: (async function* () {
      yield encoder.encode(text);
    })(),
    text: () => Promise.resolve(text),
  };
}

function problemAnswer(problem: RequestProblem): TransportResponse {
  return jsonAnswer(problem.status, JSON.stringify(problem.body));
}

async function* paced(frames: Iterable<string>, delayMs: number, signal: AbortSignal | undefined): TransportBody {
  let first = true;
  for (const frame of frames) {
    if (!first && delayMs > 0) {
      // The transport contract: an aborted body read rejects with the signal's reason.
      await sleep(delayMs, undefined, signal === undefined ? {} : { signal }).catch(() => signal?.throwIfAborted());
    }
    signal?.throwIfAborted();
    first = false;
    yield encoder.encode(frame);
  }
}

function streamAnswer(frames: Iterable<string>, delayMs: number, signal: AbortSignal | undefined): TransportResponse {
  const body = paced(frames, delayMs, signal);
  return {
    ok: true,
    status: 200,
    headers: headersOf('text/event-stream; charset=utf-8'),
    body,
    async text() {
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
      return text + decoder.decode();
    },
  };
}

/** The demo's answer: labelled as such, echoing the start of the last user message so that it is visibly live. */
function demoContent(body: unknown): string {
  const messages = field(body, 'messages');
  const said = Array.isArray(messages)
    ? contentText(
        field(
          messages.findLast((message) => field(message, 'role') === 'user'),
          'content',
        ),
      )
    : '';
  const words = said.split(/\s+/).filter((word) => word !== '');
  const echo = words.length === 0 ? '' : ` You said: ${words.slice(0, ECHO_WORDS).join(' ')}`;
  return `${DEMO_PREFIX} This answer comes from gw's built-in demo provider; no language model was called.${echo}`;
}

function parseBody(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Options of {@link createDemoTransport}. */
export interface DemoTransportOptions {
  /** Pause between streamed chunks; default 30 ms (0 sends them back to back). */
  chunkDelayMs?: number | undefined;
}

/**
 * A transport that answers OpenAI's chat completions (JSON and SSE), embeddings and model list in-process, from the
 * stand-in's renderers: usage counted in words, content prefixed with `[demo]`.
 *
 * @example
 * const demo = createDemoTransport({ chunkDelayMs: 0 });
 * const answer = await demo('http://demo.invalid/v1/models', { method: 'GET', headers: {} });
 */
export function createDemoTransport(options: DemoTransportOptions = {}): Transport {
  const chunkDelayMs = options.chunkDelayMs ?? DEFAULT_CHUNK_DELAY_MS;
  const models = modelsJson([DEMO_MODEL]);
  let sequence = 0;
  return (url, request) => {
    request.signal?.throwIfAborted();
    const path = new URL(url).pathname;
    if (request.method === 'GET' && path.endsWith('/models')) return Promise.resolve(jsonAnswer(200, models));
    const body = parseBody(request.body);
    if (request.method === 'POST' && path.endsWith('/embeddings')) {
      const answer = embeddingsJson(body);
      return Promise.resolve(typeof answer === 'string' ? jsonAnswer(200, answer) : problemAnswer(answer));
    }
    if (request.method === 'POST' && path.endsWith('/chat/completions')) {
      sequence += 1;
      const plan = planChat(body, { type: 'chat', content: demoContent(body) }, sequence);
      if ('status' in plan) return Promise.resolve(problemAnswer(plan));
      plan.id = `chatcmpl-demo${sequence}`;
      return Promise.resolve(
        plan.stream
          ? streamAnswer(chatStreamFrames(plan), chunkDelayMs, request.signal)
          : jsonAnswer(200, chatCompletionJson(plan)),
      );
    }
    const unknown = invalidRequest(`Unknown request URL: ${request.method} ${path}.`, null, 'unknown_url');
    return Promise.resolve(problemAnswer({ ...unknown, status: 404 }));
  };
}
