import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function capture(level: 'debug' | 'info' = 'debug', secrets: string[] = []) {
  const lines: string[] = [];
  const logger = createLogger({ level, secrets, write: (line) => lines.push(line) });
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('scrubs secrets added after it started from every later line', () => {
    const { logger, lines } = capture('info', ['file-vendor-key-0123456789']);
    const stored = 'stored-vendor-key-9876543210';
    logger.info('before', { echoed: stored, file: 'file-vendor-key-0123456789' });
    logger.addSecrets?.([stored]);
    logger.info('after', { echoed: stored, again: `x${stored}x` });
    expect(lines[0]).toContain(stored);
    expect(lines[0]).not.toContain('file-vendor-key-0123456789');
    expect(lines[1]).not.toContain(stored);
    expect(lines[1]).toContain('[redacted]');
  });

  it('writes one JSON line per call with level, ISO time, message and fields', () => {
    const { logger, parsed } = capture();
    logger.warn('provider disabled', { provider: 'openai', reason: 'apiKey is empty' });
    const [line] = parsed();
    expect(line).toMatchObject({ level: 'warn', msg: 'provider disabled', provider: 'openai' });
    expect(new Date(String(line?.['time'])).toISOString()).toBe(line?.['time']);
  });

  it('writes the fixed fields it was given on every line', () => {
    const lines: string[] = [];
    const logger = createLogger({ fields: { worker: 3 }, write: (line) => lines.push(line) });
    logger.info('one');
    logger.warn('two', { reason: 'x' });
    expect(lines.map((line) => (JSON.parse(line) as Record<string, unknown>)['worker'])).toEqual([3, 3]);
  });

  it('writes nothing below its level, and says so through enabled()', () => {
    const { logger, lines } = capture('info');
    logger.debug('hidden');
    expect(lines).toEqual([]);
    expect(logger.enabled('debug')).toBe(false);
    expect(logger.enabled('error')).toBe(true);
  });

  it('writes an error field with its type, message and stack', () => {
    const { logger, parsed } = capture();
    logger.error('request failed unexpectedly', { error: new TypeError('boom') });
    expect(parsed()[0]?.['error']).toMatchObject({ type: 'TypeError', message: 'boom', stack: expect.any(String) });
  });

  it('never writes a secret, wherever it hides: message, nested field, error, JSON-escaped', () => {
    const secret = 'sk-live-0123456789';
    const quoted = 'key"with\\quotes-98765';
    const { logger, lines } = capture('debug', [secret, quoted, 'short']);
    logger.info(`key ${secret}`, { nested: { deeper: [secret] }, error: new Error(`echoed ${secret}`), odd: quoted });
    const text = lines.join('');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(JSON.stringify(quoted).slice(1, -1));
    expect(text).toContain('[redacted]');
    // Values too short to be keys are left alone, or every log would be shredded.
    logger.info('a short word');
    expect(lines.at(-1)).toContain('short');
  });
});
