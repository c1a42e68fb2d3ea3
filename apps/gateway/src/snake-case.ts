/**
 * A camelCase name in the admin API's spelling: `inFlight` → `in_flight`.
 *
 * @example
 * toSnake('maxConcurrency'); // 'max_concurrency'
 */
export function toSnake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
