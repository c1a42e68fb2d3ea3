// Exact decimal text <-> scaled integers. Prices and rates arrive as decimal text (or JS numbers, whose shortest
// round-trip text is what their author typed); reading them through binary floating point would turn 0.1 into
// 0.1000000000000000055…, so they are read digit by digit into integers of a fixed scale instead.

// One optional sign, digits with an optional fraction, an optional exponent. Linear: no nested quantifiers.
const DECIMAL_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/** A decimal as `digits / 10^scale`, with `digits` an integer. */
export interface ExactDecimal {
  readonly digits: bigint;
  readonly scale: number;
}

/**
 * Reads decimal text (or a finite number through its shortest round-trip text) exactly. Returns undefined for
 * anything else: NaN, Infinity, empty text, stray characters.
 */
export function readDecimal(value: string | number): ExactDecimal | undefined {
  if (typeof value === 'number' && !Number.isFinite(value)) return undefined;
  const text = typeof value === 'number' ? String(value) : value.trim();
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null) return undefined;
  const [, sign = '', whole = '', fraction = '', exponentText] = match;
  if (whole === '' && fraction === '') return undefined;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 400) return undefined;
  let digits = BigInt(`${whole}${fraction}` || '0');
  let scale = fraction.length - exponent;
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { digits: sign === '-' ? -digits : digits, scale };
}

/**
 * `value × 10^scale` as an integer, exactly, or undefined when that is not an integer (more decimals than the
 * scale allows) or `value` is not a decimal.
 */
export function toScaledInteger(value: string | number, scale: number): bigint | undefined {
  const decimal = readDecimal(value);
  if (decimal === undefined) return undefined;
  if (decimal.scale <= scale) return decimal.digits * 10n ** BigInt(scale - decimal.scale);
  const divisor = 10n ** BigInt(decimal.scale - scale);
  return decimal.digits % divisor === 0n ? decimal.digits / divisor : undefined;
}

/** `value × 10^scale` rounded half to even: for sources that carry float noise (LiteLLM's per-token costs). */
export function toRoundedScaledInteger(value: string | number, scale: number): bigint | undefined {
  const decimal = readDecimal(value);
  if (decimal === undefined) return undefined;
  if (decimal.scale <= scale) return decimal.digits * 10n ** BigInt(scale - decimal.scale);
  return divideHalfEven(decimal.digits, 10n ** BigInt(decimal.scale - scale));
}

/** `numerator / denominator` rounded half to even (banker's rounding: no drift upwards over many conversions). */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator < 0n) return divideHalfEven(-numerator, -denominator);
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const twice = 2n * (remainder < 0n ? -remainder : remainder);
  const away = numerator < 0n ? quotient - 1n : quotient + 1n;
  if (twice > denominator) return away;
  if (twice < denominator) return quotient;
  return quotient % 2n === 0n ? quotient : away;
}

/** Integer `digits / 10^scale` as decimal text without trailing zeros: `formatScaled(2500n, 3)` is `'2.5'`. */
export function formatScaled(digits: bigint, scale: number): string {
  const negative = digits < 0n;
  const text = (negative ? -digits : digits).toString().padStart(scale + 1, '0');
  const whole = text.slice(0, text.length - scale);
  let fraction = text.slice(text.length - scale);
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 0x30) end -= 1; // trailing zeros, without a regex
  fraction = fraction.slice(0, end);
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}
