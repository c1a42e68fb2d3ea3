const REDACTED = '[redacted]';
// Keys shorter than this are not real secrets, and replacing them would shred ordinary words in the message.
const MIN_SECRET_LENGTH = 4;
const BEARER_PATTERN = /\bBearer\s+[^\s"',;]+/gi;
const SK_KEY_PATTERN = /\bsk-[\w-]{4,}/g;

/**
 * Replaces every occurrence of the given secrets, and anything shaped like `Bearer …` or `sk-…`, with
 * `[redacted]`. Vendors echo keys back ("Incorrect API key provided: sk-…"), so every upstream message passes here.
 */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH) result = result.replaceAll(secret, REDACTED);
  }
  return result.replace(BEARER_PATTERN, REDACTED).replace(SK_KEY_PATTERN, REDACTED);
}
