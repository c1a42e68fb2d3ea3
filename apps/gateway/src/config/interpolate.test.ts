import { describe, expect, it } from 'vitest';
import { isConfigError } from './config-error.ts';
import { interpolateEnv, maskInterpolations } from './interpolate.ts';

function issuesOf(run: () => unknown): Array<{ path: string; message: string }> {
  try {
    run();
  } catch (error) {
    if (isConfigError(error)) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('interpolateEnv', () => {
  it('replaces ${VAR} in string values, anywhere in the string', () => {
    const result = interpolateEnv(
      { providers: [{ baseUrl: 'https://${HOST}/v1', apiKey: '${KEY}' }] },
      { HOST: 'example.com', KEY: 'k-1' },
    );
    expect(result).toEqual({ providers: [{ baseUrl: 'https://example.com/v1', apiKey: 'k-1' }] });
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty', () => {
    const result = interpolateEnv(
      { a: '${UNSET:-fallback}', b: '${EMPTY:-fallback}', c: '${SET:-fallback}', d: '${UNSET:-}' },
      { EMPTY: '', SET: 'value' },
    );
    expect(result).toEqual({ a: 'fallback', b: 'fallback', c: 'value', d: '' });
  });

  it('keeps an empty value set without a default', () => {
    expect(interpolateEnv({ a: '${EMPTY}' }, { EMPTY: '' })).toEqual({ a: '' });
  });

  it('treats $${ as a literal ${', () => {
    expect(interpolateEnv({ a: 'cost $${PRICE} and $5' }, { PRICE: '9' })).toEqual({ a: 'cost ${PRICE} and $5' });
  });

  it('names the variable and the field path of an unset variable without default', () => {
    const issues = issuesOf(() =>
      interpolateEnv({ providers: [{ id: 'a' }, { id: 'b', apiKey: '${OPENAI_API_KEY}' }] }, {}),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('providers[1].apiKey');
    expect(issues[0]?.message).toContain('OPENAI_API_KEY');
  });

  it('reports every missing variable at once', () => {
    const issues = issuesOf(() => interpolateEnv({ a: '${ONE}', b: ['${TWO}'] }, {}));
    expect(issues.map((issue) => issue.path)).toEqual(['a', 'b[0]']);
  });

  it('refuses a malformed reference with its path', () => {
    const issues = issuesOf(() => interpolateEnv({ server: { host: '${not valid}' } }, {}));
    expect(issues[0]?.path).toBe('server.host');
  });

  it('leaves numbers, booleans and keys alone', () => {
    expect(interpolateEnv({ '${KEY}': 1, b: true, c: null }, { KEY: 'x' })).toEqual({ '${KEY}': 1, b: true, c: null });
  });
});

describe('maskInterpolations', () => {
  it('keeps the text length so YAML error columns stay right', () => {
    const source = 'auth: { masterKey: ${GW_MASTER_KEY:-} }\nx: ${A}b';
    const { text } = maskInterpolations(source);
    expect(text).not.toContain('${');
    expect(text.split('\n').map((line) => line.length)).toEqual(source.split('\n').map((line) => line.length));
  });

  it('restores the original references, also next to letters', () => {
    const { text, unmask } = maskInterpolations('a: ${A}b${B}\nc: "$${LITERAL}"');
    const [first, second] = text.split('\n');
    expect(unmask((first ?? '').slice(3))).toBe('${A}b${B}');
    expect(second).toBe('c: "$${LITERAL}"');
  });
});
