import { createHash } from 'node:crypto';

/**
 * Longest scope a store keeps verbatim; a longer one is kept as its SHA-256, so a scope built from a client's
 * input (a header, a user id) costs bounded memory however long it is.
 */
export const MAX_SCOPE_LENGTH = 256;

// A part longer than this (after escaping) is replaced by its digest, so that a composed scope stays short.
const MAX_PART_LENGTH = 96;

// Parts made of these characters are kept as they are; any other is percent-escaped (':' and braces included,
// which is what keeps the parts apart and the Redis hash tag intact).
const PLAIN_PART = /^[\w.~@+=/-]*$/;

/**
 * Builds a scope from an owner and optional sub-parts: `composeScope('key', id)` is `{key:<id>}`,
 * `composeScope('key', id, 'model', model)` is `{key:<id>}:model:<model>`, `composeScope('global')` is `{global}`.
 *
 * - The first two parts (the owner) are wrapped in braces: a Redis hash tag. Every scope of one owner lands in
 *   one Redis Cluster slot, so a single take may check all of an owner's limits atomically (key RPM, key TPM,
 *   key + model RPM). The memory store ignores the braces.
 * - Each part is escaped (`:`, `{`, `}`, `%`, spaces, non-ASCII → `%XX`), so no part can pass for two, and a part
 *   longer than 96 characters after escaping becomes `#` and its SHA-256 (base64url): a client-chosen value
 *   cannot make a long key.
 *
 * @example
 * ```ts
 * const limits: RateLimit[] = [
 *   { scope: composeScope('key', keyId), unit: 'requests', limit: 600 },
 *   { scope: composeScope('key', keyId), unit: 'tokens', limit: 200_000 },
 *   { scope: composeScope('key', keyId, 'model', 'gpt-4o'), unit: 'requests', limit: 60 },
 * ];
 * ```
 */
export function composeScope(owner: string, ...parts: string[]): string {
  const [id, ...rest] = parts;
  const tag = id === undefined ? escapePart(owner) : `${escapePart(owner)}:${escapePart(id)}`;
  let scope = `{${tag}}`;
  for (const part of rest) scope += `:${escapePart(part)}`;
  return scope;
}

/** `scope` itself when it is at most {@link MAX_SCOPE_LENGTH} long, else `#` and its SHA-256. */
export function boundedScope(scope: string): string {
  return scope.length > MAX_SCOPE_LENGTH ? digest(scope) : scope;
}

/** `#` and the SHA-256 of `text`, base64url: 44 characters that stand for any string. */
export function digest(text: string): string {
  return `#${createHash('sha256').update(text).digest('base64url')}`;
}

function escapePart(part: string): string {
  if (part.length <= MAX_PART_LENGTH && PLAIN_PART.test(part)) return part;
  let escaped: string;
  try {
    escaped = encodeURIComponent(part);
  } catch {
    // A lone UTF-16 surrogate cannot be percent-encoded; the digest stands for it instead.
    return digest(part);
  }
  return escaped.length <= MAX_PART_LENGTH ? escaped : digest(part);
}
