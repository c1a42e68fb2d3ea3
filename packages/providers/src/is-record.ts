/**
 * Internal: true for a JSON object (not null, not an array), so that its fields can be read without a cast.
 *
 * @example
 * if (isRecord(payload) && typeof payload['id'] === 'string') use(payload['id']);
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
