import { z } from 'zod';
import type { OutcomeStatus } from '../settle/settle-once.ts';

/** How a request that reached routing ended (the settle hook's status). */
export const LEDGER_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly OutcomeStatus[];

/**
 * Tokens of one request by class, each counted once (the classes do not overlap: their sum is every token of the
 * request). Matches `@gw/cost`'s token breakdown, with its two cache-write lines added up.
 */
export interface LedgerTokens {
  /** Prompt tokens that were neither cache reads nor cache writes. */
  readonly input: number;
  readonly cachedInput: number;
  readonly cacheWrite: number;
  /** Completion tokens that were not reasoning. */
  readonly output: number;
  readonly reasoning: number;
}

/**
 * What one request cost, line by line, exactly: integers of 10^-12 currency units (see `@gw/cost`'s `Money`).
 * Lines are as the price bills them: `reasoning` is 0n unless the price lists reasoning apart from output.
 */
export interface LedgerCost {
  /** ISO 4217 code, as the vendor bills. */
  readonly currency: string;
  readonly input: bigint;
  readonly cachedInput: bigint;
  readonly cacheWrite: bigint;
  readonly output: bigint;
  readonly reasoning: bigint;
  readonly total: bigint;
}

/** One request that reached routing, whatever its end: the unit the ledger stores, lists and sums. */
export interface LedgerRow {
  /**
   * The ledger's key: a replayed row with a known id is ignored, so this id must be unique per request and fixed
   * once the row is built. A client-sent `x-request-id` is not unique (a client may send the same one twice, and
   * its second request would then never be billed): give the ledger a gateway-minted id.
   */
  readonly requestId: string;
  /** When the request arrived. Stored to the millisecond. */
  readonly createdAt: Date;
  /** The virtual key that sent it; null until virtual keys exist, or for the master key. */
  readonly apiKeyId: string | null;
  /** The model the client asked for (alias or `provider-id/model`). */
  readonly model: string;
  /** The provider id that served it (the last one tried, after fallbacks). */
  readonly provider: string;
  /** The model name sent upstream. */
  readonly upstreamModel: string;
  /** Which API the client called: `chat`, `messages`, `embeddings`, `responses`… */
  readonly endpoint: string;
  readonly stream: boolean;
  readonly status: OutcomeStatus;
  /** The HTTP status the client got (499 when it left first); null when no answer was started. */
  readonly httpStatus: number | null;
  /** The error's `kind` (`rate_limit`, `timeout`…) for failed and cancelled requests. */
  readonly errorKind: string | null;
  /** Upstream attempts, retries and fallbacks included. */
  readonly attempts: number;
  /** True when a fallback model served (or last failed) the request. */
  readonly fallback: boolean;
  /** Time to the first streamed token; null for JSON answers and streams that sent nothing. */
  readonly ttftMs: number | null;
  readonly latencyMs: number;
  readonly tokens: LedgerTokens;
  /** Null when the model has no price: the row is then `unpriced` and counts tokens only. */
  readonly cost: LedgerCost | null;
  /** True when the upstream reported no usage and the tokens were counted or estimated by the gateway. */
  readonly estimated: boolean;
  /** True when the response cache answered: no upstream call, tokens and cost 0. Absent: false. */
  readonly cacheHit?: boolean | undefined;
  /**
   * For a cache hit: what the answer cost when it was first served, exactly, in the row's `cost.currency`
   * (10^-12 units). Absent: 0n.
   */
  readonly costSaved?: bigint | undefined;
}

// Column limits the checks below keep rows within: PostgreSQL `integer` and `bigint`.
const INT32_MAX = 2 ** 31 - 1;
const INT64_MAX = 2n ** 63n - 1n;
const CURRENCY = /^[A-Z]{3}$/;

function isCount(value: number, max = INT32_MAX): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function isAmount(value: bigint): boolean {
  return value >= 0n && value <= INT64_MAX;
}

/**
 * What is wrong with a row the database would refuse or store wrongly (a negative count, an amount past a 64-bit
 * column, an invalid date), or undefined when it is fine. The writer drops such a row with a `rejected` event
 * instead of retrying it forever.
 *
 * @example
 * ```ts
 * ledgerRowProblem({ ...row, latencyMs: -1 }); // 'latencyMs must be an integer from 0 to 2147483647'
 * ```
 */
export function ledgerRowProblem(row: LedgerRow): string | undefined {
  if (typeof row.requestId !== 'string' || row.requestId === '') return 'requestId must be a non-empty string';
  if (!(row.createdAt instanceof Date) || Number.isNaN(row.createdAt.getTime())) return 'createdAt must be a date';
  if (!LEDGER_STATUSES.includes(row.status)) return `status must be one of ${LEDGER_STATUSES.join(', ')}`;
  if (row.httpStatus !== null && !(isCount(row.httpStatus) && row.httpStatus >= 100 && row.httpStatus <= 599)) {
    return 'httpStatus must be null or an HTTP status';
  }
  const counts: [string, number | null][] = [
    ['attempts', row.attempts],
    ['ttftMs', row.ttftMs],
    ['latencyMs', row.latencyMs],
    ['tokens.input', row.tokens.input],
    ['tokens.cachedInput', row.tokens.cachedInput],
    ['tokens.cacheWrite', row.tokens.cacheWrite],
    ['tokens.output', row.tokens.output],
    ['tokens.reasoning', row.tokens.reasoning],
  ];
  for (const [field, value] of counts) {
    if (value !== null && !isCount(value)) return `${field} must be an integer from 0 to ${INT32_MAX}`;
  }
  if (row.costSaved !== undefined && !isAmount(row.costSaved))
    return 'costSaved must be from 0 to 2^63-1 units of 10^-12';
  if (row.cost !== null) {
    if (!CURRENCY.test(row.cost.currency)) return 'cost.currency must be three capital letters';
    const { input, cachedInput, cacheWrite, output, reasoning, total } = row.cost;
    const amounts = { input, cachedInput, cacheWrite, output, reasoning, total };
    for (const [field, value] of Object.entries(amounts)) {
      if (!isAmount(value)) return `cost.${field} must be from 0 to 2^63-1 units of 10^-12`;
    }
  }
  return undefined;
}

// The spill file is read back after a crash or by a newer gateway: its lines are external input, parsed by shape
// here and then checked by ledgerRowProblem like a live row. Amounts travel as decimal text (JSON has no 64-bit
// integer), dates as epoch milliseconds.
const amountText = z
  .string()
  .regex(/^\d{1,19}$/)
  .transform((text) => BigInt(text));
const count = z.number().int();

const spillLineSchema = z.object({
  v: z.literal(1),
  requestId: z.string(),
  createdAt: count.transform((ms) => new Date(ms)),
  apiKeyId: z.string().nullable(),
  model: z.string(),
  provider: z.string(),
  upstreamModel: z.string(),
  endpoint: z.string(),
  stream: z.boolean(),
  status: z.enum(LEDGER_STATUSES),
  httpStatus: count.nullable(),
  errorKind: z.string().nullable(),
  attempts: count,
  fallback: z.boolean(),
  ttftMs: count.nullable(),
  latencyMs: count,
  tokens: z.object({ input: count, cachedInput: count, cacheWrite: count, output: count, reasoning: count }),
  cost: z
    .object({
      currency: z.string(),
      input: amountText,
      cachedInput: amountText,
      cacheWrite: amountText,
      output: amountText,
      reasoning: amountText,
      total: amountText,
    })
    .nullable(),
  estimated: z.boolean(),
  cacheHit: z.boolean().optional(),
  costSaved: amountText.optional(),
});

/**
 * One row as a line of the spill file: JSON with a format version, amounts as decimal text, the date in
 * milliseconds. No line break inside (JSON escapes them in strings).
 *
 * @example
 * ```ts
 * await file.appendFile(rows.map(toSpillLine).join(''));
 * ```
 */
export function toSpillLine(row: LedgerRow): string {
  const cost = row.cost;
  return `${JSON.stringify({
    v: 1,
    ...row,
    createdAt: row.createdAt.getTime(),
    ...(row.costSaved === undefined ? {} : { costSaved: row.costSaved.toString() }),
    cost:
      cost === null
        ? null
        : {
            currency: cost.currency,
            input: cost.input.toString(),
            cachedInput: cost.cachedInput.toString(),
            cacheWrite: cost.cacheWrite.toString(),
            output: cost.output.toString(),
            reasoning: cost.reasoning.toString(),
            total: cost.total.toString(),
          },
  })}\n`;
}

/**
 * The row of one spill-file line, or a reason it is not one (a line torn by a crash mid-write, a newer format, a
 * row out of range).
 *
 * @example
 * ```ts
 * const parsed = fromSpillLine(line);
 * if (typeof parsed === 'string') report(parsed);
 * ```
 */
export function fromSpillLine(line: string): LedgerRow | string {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return 'not JSON (a line cut short by a crash?)';
  }
  const parsed = spillLineSchema.safeParse(json);
  if (!parsed.success) return `not a ledger row: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
  const { v: _version, ...row } = parsed.data;
  return ledgerRowProblem(row) ?? row;
}
