/**
 * Formats a path of keys and indexes the way users write it: `providers[1].apiKey`.
 *
 * @example
 * formatPath(['providers', 1, 'apiKey']); // 'providers[1].apiKey'
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let result = '';
  for (const segment of path) {
    if (typeof segment === 'number') result += `[${segment}]`;
    else result += result === '' ? String(segment) : `.${String(segment)}`;
  }
  return result;
}
