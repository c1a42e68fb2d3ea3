import { AwsV4Signer } from 'aws4fetch';

/** AWS credentials for SigV4. */
export interface BedrockCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** What {@link signBedrockRequest} signs. */
export interface BedrockSigningInput {
  method: 'GET' | 'POST';
  /** The URL as sent: the model id in its path already percent-encoded once. */
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  region: string;
  credentials: BedrockCredentials;
  /** Milliseconds since the epoch; the signature's date. */
  now: number;
}

/** `2026-11-22T05:30:00.000Z` → `20261122T053000Z`, the form SigV4 wants in `x-amz-date`. */
function amzDate(now: number): string {
  return new Date(now).toISOString().replace(/[:-]|\.\d{3}/g, '');
}

/**
 * The headers of a SigV4-signed Bedrock request (service `bedrock`): the given ones plus `x-amz-date`,
 * `x-amz-security-token` (with a session token) and `authorization`. Signing is aws4fetch's `AwsV4Signer`, which
 * double-encodes the path in the canonical request as SigV4 requires for every service but S3 (a model ARN's `:`
 * and `/` are `%3A` / `%2F` on the wire and `%253A` / `%252F` in the canonical path).
 *
 * @example
 * ```ts
 * const headers = await signBedrockRequest({
 *   method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: 'us-east-1',
 *   credentials: { accessKeyId, secretAccessKey }, now: Date.now(),
 * });
 * ```
 */
export async function signBedrockRequest(input: BedrockSigningInput): Promise<Record<string, string>> {
  const signer = new AwsV4Signer({
    method: input.method,
    url: input.url,
    headers: input.headers,
    ...(input.body === undefined ? {} : { body: input.body }),
    accessKeyId: input.credentials.accessKeyId,
    secretAccessKey: input.credentials.secretAccessKey,
    ...(input.credentials.sessionToken === undefined ? {} : { sessionToken: input.credentials.sessionToken }),
    service: 'bedrock',
    region: input.region,
    datetime: amzDate(input.now),
  });
  const signed = await signer.sign();
  const headers: Record<string, string> = {};
  signed.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}
