const REDACTED = '[redacted]';
// Keys shorter than this are not real secrets, and replacing them would shred ordinary words in the message.
const MIN_SECRET_LENGTH = 4;
const BEARER_PATTERN = /\bBearer\s+[^\s"',;]+/gi;
const SK_KEY_PATTERN = /\bsk-[\w-]{4,}/g;

/**
 * Replaces every occurrence of the given secrets, and anything shaped like `Bearer …` or `sk-…`, with `[redacted]`.
 * Vendors (and proxies in front of them) echo keys back, in messages ("Incorrect API key provided: sk-…") and in any
 * other field, so every string an upstream sends that may leave the process passes here, whole, before it is cut to
 * any length: a key straddling the cut must not leave its first characters behind. Longer secrets are replaced
 * first, so one that contains another is not left half visible.
 *
 * @example
 * redactSecrets('Incorrect API key provided: my-key-123', ['my-key-123']); // 'Incorrect API key provided: [redacted]'
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let result = text;
  const values = secrets.filter(
    (secret): secret is string => secret !== undefined && secret.length >= MIN_SECRET_LENGTH,
  );
  if (values.length > 1) values.sort((a, b) => b.length - a.length);
  for (const secret of values) {
    if (result.includes(secret)) result = result.replaceAll(secret, REDACTED);
  }
  return result.replace(BEARER_PATTERN, REDACTED).replace(SK_KEY_PATTERN, REDACTED);
}

/**
 * A string a vendor sent, fit to leave the process: trimmed, {@link redactSecrets} on the whole of it, then cut to
 * `maxLength` characters (with `…` when cut).
 *
 * @example
 * scrubVendorText(body, [apiKey], 1000);
 */
export function scrubVendorText(text: string, secrets: ReadonlyArray<string | undefined>, maxLength: number): string {
  const redacted = redactSecrets(text.trim(), secrets);
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}…` : redacted;
}
