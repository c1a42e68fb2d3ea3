import type { z } from 'zod';
import { formatPath } from '../../format-path.ts';
import { GatewayError } from '../../gateway-error.ts';

/**
 * Where `value` nests objects and arrays deeper than `maxDepth`: the top-level field the first such path starts
 * with (`''` when the body itself is that deep, e.g. an array), or `undefined` when it does not. Walked without
 * recursion (a recursive walk is what a deep body must not be able to overflow); stops at the first path past the
 * limit.
 */
function fieldNestedDeeperThan(value: unknown, maxDepth: number): string | undefined {
  const stack: Array<{ value: object; depth: number; field: string }> = [];
  if (typeof value === 'object' && value !== null) stack.push({ value, depth: 1, field: '' });
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (item.depth > maxDepth) return item.field;
    const depth = item.depth + 1;
    const { value: current, field } = item;
    if (Array.isArray(current)) {
      const children: readonly unknown[] = current;
      for (const child of children) {
        if (typeof child === 'object' && child !== null) stack.push({ value: child, depth, field });
      }
      continue;
    }
    // Keys read in place (no entries array per object): this walk runs over every request body.
    for (const key in current) {
      const child: unknown = Reflect.get(current, key);
      if (typeof child === 'object' && child !== null)
        stack.push({ value: child, depth, field: depth === 2 ? key : field });
    }
  }
  return undefined;
}

/**
 * The request body as JSON; a body that is not JSON is a 400 `invalid_json`, one that nests objects and arrays
 * deeper than `maxDepth` a 400 `json_too_deep` naming the top-level field (`param`) the deep value is in (such a body
 * fails when it is serialised for the upstream, and must fail here, as the client's error, not later as the
 * deployment's).
 *
 * @example
 * const body = parseJsonBody(await c.req.text(), 64);
 */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GatewayError('Request body is not valid JSON.', {
      status: 400,
      type: 'invalid_request_error',
      code: 'invalid_json',
    });
  }
  const field = fieldNestedDeeperThan(value, maxDepth);
  if (field !== undefined) {
    const where = field === '' ? 'Request body' : `Request body field ${JSON.stringify(field.slice(0, 100))}`;
    throw new GatewayError(`${where} nests objects and arrays deeper than ${maxDepth} levels.`, {
      status: 400,
      type: 'invalid_request_error',
      code: 'json_too_deep',
      param: field === '' ? null : field.slice(0, 100),
    });
  }
  return value;
}

type Issue = z.core.$ZodIssue;

/**
 * The issue to report. For a union (`content: string | blocks`) zod reports "Invalid input" at the
 * union; the branch whose issue reaches deepest into the value is the one the client meant, and says
 * what is wrong (e.g. `messages[0].content[1].type: Invalid discriminator value...`).
 */
function reportedIssue(issue: Issue): { path: PropertyKey[]; message: string } {
  let best: { path: PropertyKey[]; message: string } | undefined;
  if (issue.code === 'invalid_union') {
    for (const branch of issue.errors) {
      for (const inner of branch) {
        const candidate = reportedIssue(inner);
        if (best === undefined || candidate.path.length > best.path.length) best = candidate;
      }
    }
  }
  if (best === undefined || best.path.length === 0) return { path: issue.path, message: issue.message };
  return { path: [...issue.path, ...best.path], message: best.message };
}

/**
 * Validates a request body with `schema`; the first issue becomes a 400 `invalid_request` naming
 * the field at fault (`param`, e.g. `messages[0].role`).
 *
 * @example
 * const request = parseRequest(chatCompletionRequestSchema, parseJsonBody(await c.req.text(), 64));
 */
export function parseRequest<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const issue = first === undefined ? undefined : reportedIssue(first);
  const param = issue === undefined || issue.path.length === 0 ? null : formatPath(issue.path);
  const detail = issue === undefined ? 'invalid request' : issue.message;
  throw new GatewayError(param === null ? `Invalid request: ${detail}` : `Invalid request: ${param}: ${detail}`, {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_request',
    param,
  });
}
