import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/** Seals and opens the secrets stored in the database (vendor keys of providers added through the admin API). */
export interface SecretBox {
  /** `v1:` and the base64url of a random 96-bit IV, the AES-256-GCM ciphertext and its 128-bit tag. */
  seal(plaintext: string, context: string): string;
  /** The plaintext of a sealed value; throws {@link SecretBoxError} when it was sealed with another key or context. */
  open(sealed: string, context: string): string;
}

const SECRET_BOX_ERROR = Symbol.for('gw.error.secret-box');

/** A sealed value that cannot be opened: another `GW_SECRET_KEY`, another row, or altered bytes. */
export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
    Object.defineProperty(this, SECRET_BOX_ERROR, { value: true });
  }
}

/**
 * True for a {@link SecretBoxError}.
 *
 * @example
 * if (isSecretBoxError(error)) logger.warn('stored provider keys cannot be read with this GW_SECRET_KEY');
 */
export function isSecretBoxError(error: unknown): error is SecretBoxError {
  return typeof error === 'object' && error !== null && SECRET_BOX_ERROR in error;
}

/** The shortest `GW_SECRET_KEY` accepted: `openssl rand -base64 32` gives 44 characters. */
export const MIN_SECRET_KEY_LENGTH = 32;
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// scrypt turns the passphrase into the AES key once per process. The salt is fixed (a random one would have to be
// stored next to every value); its cost (N = 2^14, 16 MiB) is what a guess of a weak GW_SECRET_KEY costs an attacker
// holding the database.
const KDF_SALT = 'gw/stored-provider-secrets/v1';
const KDF_OPTIONS = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/**
 * A secret box keyed by `GW_SECRET_KEY` (at least 32 characters; `openssl rand -base64 32`): AES-256-GCM under a key
 * derived with scrypt, a random IV per value, and `context` (the provider id) as additional data, so a value copied
 * to another row does not open. The `v1:` prefix leaves room for another scheme or key later.
 *
 * @example
 * const box = createSecretBox(process.env.GW_SECRET_KEY ?? '');
 * const sealed = box.seal(JSON.stringify({ apiKey }), 'openai-eu');
 * JSON.parse(box.open(sealed, 'openai-eu'));
 */
export function createSecretBox(secretKey: string): SecretBox {
  if (secretKey.length < MIN_SECRET_KEY_LENGTH) {
    throw new RangeError(`GW_SECRET_KEY must be at least ${MIN_SECRET_KEY_LENGTH} characters`);
  }
  const key = scryptSync(secretKey, KDF_SALT, 32, KDF_OPTIONS);
  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${VERSION}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    open(sealed, context) {
      const separator = sealed.indexOf(':');
      if (sealed.slice(0, separator) !== VERSION) throw new SecretBoxError('unknown sealed value format');
      const bytes = Buffer.from(sealed.slice(separator + 1), 'base64url');
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('sealed value too short');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      try {
        return Buffer.concat([
          decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
      } catch {
        throw new SecretBoxError('the value does not open with this GW_SECRET_KEY');
      }
    },
  };
}
