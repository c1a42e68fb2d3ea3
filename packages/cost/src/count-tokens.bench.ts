// Cost of counting a typical chat request's prompt tokens on the request path (for TPM limits and budget
// reservations). Run by hand: `pnpm --filter @gw/cost bench`. Prints numbers; asserts nothing.
import { performance } from 'node:perf_hooks';
import { estimateChatTokens, loadTokenizer, type ChatCountRequest } from './index.ts';

const paragraph =
  'The gateway keeps a ledger of every request: who sent it, which deployment served it, how many tokens went ' +
  'in and out, and what that cost in the currency the vendor bills. Budgets are reserved before the call and ' +
  'settled after it, so that a burst of concurrent requests cannot overspend. ';

// A typical agent turn: a 300-token system prompt, six earlier turns, two tools; about 1,500 prompt tokens.
const request: ChatCountRequest = {
  messages: [
    { role: 'system', content: paragraph.repeat(6) },
    ...Array.from({ length: 6 }, (_, turn) => ({
      role: turn % 2 === 0 ? 'user' : 'assistant',
      content: `${paragraph.repeat(3)} Turn ${turn}: 你好,请把上面的内容总结成三点。`,
    })),
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'search_ledger',
        description: 'Find ledger rows by key, model and day',
        parameters: {
          type: 'object',
          properties: { key: { type: 'string' }, model: { type: 'string' }, day: { type: 'string', format: 'date' } },
          required: ['key'],
        },
      },
    },
    {
      type: 'function',
      function: {
        name: 'get_budget',
        description: 'Remaining budget of a key',
        parameters: { type: 'object', properties: {} },
      },
    },
  ],
};

function timeIt(label: string, iterations: number, fn: () => number): void {
  for (let warm = 0; warm < 200; warm += 1) fn();
  const start = performance.now();
  let tokens = 0;
  for (let iteration = 0; iteration < iterations; iteration += 1) tokens = fn();
  const perCall = ((performance.now() - start) / iterations) * 1000;
  console.log(`${label.padEnd(40)} ${tokens} tokens  ${perCall.toFixed(1)} µs per request`);
}

const loadStart = performance.now();
const o200k = await loadTokenizer('o200k_base');
console.log(`first load of o200k_base: ${(performance.now() - loadStart).toFixed(0)} ms (once per process)`);
const cl100k = await loadTokenizer('cl100k_base');

// Cold: every message is new to the tokenizer (a suffix makes each iteration's texts unique). Warm: the same
// request again, the case of a conversation that re-sends its history every turn.
const unique = Array.from({ length: 1400 }, (_, round) => ({
  ...request,
  messages: request.messages.map((message) => ({
    ...message,
    content: `${typeof message.content === 'string' ? message.content : ''} #${round}`,
  })),
}));
let next = 0;
const fresh = (): ChatCountRequest => unique[next++ % unique.length] ?? request;
timeIt('countChat, o200k_base, cold (exact)', 500, () => o200k.countChat(fresh()));
timeIt('countChat, cl100k_base, cold (exact)', 500, () => cl100k.countChat(fresh()));
timeIt('countChat, o200k_base, warm (exact)', 20000, () => o200k.countChat(request));
timeIt('estimateChatTokens (no tokenizer)', 20000, () => estimateChatTokens(request));
