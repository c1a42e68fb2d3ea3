// The expected signature is computed here from the SigV4 reference (docs.aws.amazon.com/IAM/latest/UserGuide/
// reference_sigv-create-signed-request.html) with node:crypto, independently of the signing library.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBedrockRequest } from './sign-bedrock-request.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const NOW = Date.UTC(2026, 10, 22, 5, 30, 0);
const modelId = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0';
const url = `https://bedrock-runtime.us-east-1.amazonaws.com/model/${encodeURIComponent(modelId)}/converse`;
const body = '{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
function hmac(key: string | Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

/** SigV4 by the book: every path segment URI-encoded twice (all services but S3). */
function expectedSignature(signedHeaders: Record<string, string>, names: string[]): string {
  const path = new URL(url).pathname
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
  const canonical = [
    'POST',
    path,
    '',
    ...names.map((name) => `${name}:${signedHeaders[name]?.trim()}`),
    '',
    names.join(';'),
    sha256(body),
  ].join('\n');
  const scope = '20261122/us-east-1/bedrock/aws4_request';
  const toSign = ['AWS4-HMAC-SHA256', '20261122T053000Z', scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, '20261122');
  for (const part of ['us-east-1', 'bedrock', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('signBedrockRequest', () => {
  it('signs with the AWS4-HMAC-SHA256 header shape and a signature that matches an independent computation', async () => {
    const headers = await signBedrockRequest({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body,
      region: 'us-east-1',
      credentials,
      now: NOW,
    });
    expect(headers['x-amz-date']).toBe('20261122T053000Z');
    expect(headers['x-amz-security-token']).toBeUndefined();
    const match =
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261122\/us-east-1\/bedrock\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
        headers['authorization'] ?? '',
      );
    expect(match).not.toBeNull();
    expect(match?.[1]).toBe('host;x-amz-date');
    expect(match?.[2]).toBe(
      expectedSignature({ ...headers, host: 'bedrock-runtime.us-east-1.amazonaws.com' }, ['host', 'x-amz-date']),
    );
  });

  it('adds and signs x-amz-security-token for temporary credentials', async () => {
    const headers = await signBedrockRequest({
      method: 'POST',
      url,
      headers: {},
      body,
      region: 'us-east-1',
      credentials: { ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' },
      now: NOW,
    });
    expect(headers['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLETOKEN');
    const names = ['host', 'x-amz-date', 'x-amz-security-token'];
    expect(headers['authorization']).toContain(`SignedHeaders=${names.join(';')},`);
    const signature = headers['authorization']?.split('Signature=')[1];
    expect(signature).toBe(expectedSignature({ ...headers, host: 'bedrock-runtime.us-east-1.amazonaws.com' }, names));
  });
});
