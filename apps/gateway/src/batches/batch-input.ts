import { z } from 'zod';
import { GatewayError } from '../gateway-error.ts';
import { formatPath } from '../format-path.ts';

/** The endpoints a batch may run. */
export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;

/** An endpoint a batch may run. */
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

/** One request of a batch input file. */
export interface BatchInputLine {
  /** 1-based line number in the file. */
  readonly lineNo: number;
  readonly customId: string;
  readonly url: BatchEndpoint;
  /** The request body as JSON text. */
  readonly body: string;
}

// OpenAI's batch line: { custom_id, method: "POST", url, body }.
const lineSchema = z.strictObject({
  custom_id: z.string().min(1).max(512),
  method: z.literal('POST'),
  url: z.enum(BATCH_ENDPOINTS),
  body: z.record(z.string(), z.unknown()),
});

function badLine(lineNo: number, why: string): GatewayError {
  return new GatewayError(`Line ${lineNo} of the batch file: ${why}`, {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_batch_line',
    param: `line ${lineNo}`,
  });
}

/**
 * Reads a batch input file (JSONL, OpenAI's batch line format). Blank lines are skipped; anything else that is not
 * a line of that format, a `custom_id` used twice, or more than `maxLines` requests is a 400 `invalid_batch_line`
 * naming the line and why. What the body asks for is checked when the line runs (a bad body fails that line alone).
 *
 * @example
 * const lines = parseBatchInput(text, { maxLines: 50_000 });
 */
export function parseBatchInput(text: string, options: { maxLines: number }): BatchInputLine[] {
  const lines: BatchInputLine[] = [];
  const seen = new Map<string, number>();
  const raw = text.split('\n');
  for (let index = 0; index < raw.length; index += 1) {
    const lineNo = index + 1;
    const source = (raw[index] ?? '').trim();
    if (source === '') continue;
    if (lines.length === options.maxLines) {
      throw new GatewayError(`The batch file has more than ${options.maxLines} requests.`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'too_many_batch_lines',
        param: 'file',
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      throw badLine(lineNo, 'not valid JSON.');
    }
    const parsed = lineSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? '' : `${formatPath(issue.path)}: `;
      throw badLine(
        lineNo,
        `${where}${issue?.message ?? 'invalid'} (expected {"custom_id", "method": "POST", "url", "body"}).`,
      );
    }
    const { custom_id: customId, url, body } = parsed.data;
    const first = seen.get(customId);
    if (first !== undefined)
      throw badLine(lineNo, `custom_id ${JSON.stringify(customId)} is already used on line ${first}.`);
    seen.set(customId, lineNo);
    lines.push({ lineNo, customId, url, body: JSON.stringify(body) });
  }
  if (lines.length === 0) {
    throw new GatewayError('The batch file has no requests.', {
      status: 400,
      type: 'invalid_request_error',
      code: 'empty_batch_file',
      param: 'file',
    });
  }
  return lines;
}
