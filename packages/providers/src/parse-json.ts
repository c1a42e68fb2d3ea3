/** JSON.parse that answers undefined instead of throwing: vendors send HTML pages, plain text and truncated JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
