// PII redaction for prompt and answer bodies written to the log (`logging.bodies: true`). Everything here runs in
// time linear in the text: no regular expression searches the whole text for a pattern that could backtrack.

const EMAIL = '[email]';
const PHONE = '[phone]';
const CARD = '[card]';

const LOCAL_PART = /^[\w.%+-]$/;
const DOMAIN_PART = /^[a-z\d.-]$/i;
const TOP_LEVEL = /^[a-z]{2,}$/i;

/**
 * The token with the e-mail address it holds replaced, found by scanning out from its `@`: the local part is the run
 * of address characters before it, the domain the run after it (with a dot and a top-level domain of letters).
 */
function redactEmailIn(token: string): string {
  const at = token.indexOf('@');
  if (at <= 0 || token.indexOf('@', at + 1) !== -1) return token;
  let start = at;
  while (start > 0 && LOCAL_PART.test(token.charAt(start - 1))) start -= 1;
  let end = at + 1;
  while (end < token.length && DOMAIN_PART.test(token.charAt(end))) end += 1;
  // A full stop ending a sentence is not part of the domain.
  while (end > at + 1 && token.charAt(end - 1) === '.') end -= 1;
  const domain = token.slice(at + 1, end);
  const lastDot = domain.lastIndexOf('.');
  if (start === at || lastDot <= 0 || !TOP_LEVEL.test(domain.slice(lastDot + 1))) return token;
  return `${token.slice(0, start)}${EMAIL}${token.slice(end)}`;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// Characters that may sit between the digits of a phone or card number: space, +, -, ., (, ).
function isNumberJoiner(code: number): boolean {
  return code === 32 || code === 43 || code === 45 || code === 46 || code === 40 || code === 41;
}

/** The Luhn checksum every payment card number passes (and most other digit strings fail). */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Replaces runs of digits (with the separators numbers are written with) that are card or phone numbers. */
function redactNumbers(text: string): string {
  let result = '';
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (!isDigit(code) && code !== 43 && code !== 40) {
      result += text[index];
      index += 1;
      continue;
    }
    // A run: digits and joiners, starting at a digit, + or (.
    let end = index;
    let digits = '';
    while (end < text.length) {
      const next = text.charCodeAt(end);
      if (isDigit(next)) digits += text[end];
      else if (!isNumberJoiner(next)) break;
      end += 1;
    }
    // Trailing joiners (a space, a full stop) belong to the text around the number.
    while (end > index && !isDigit(text.charCodeAt(end - 1)) && text.charCodeAt(end - 1) !== 41) end -= 1;
    if (digits === '' || end === index) {
      result += text[index];
      index += 1;
      continue;
    }
    const run = text.slice(index, end);
    if (digits.length >= 13 && digits.length <= 19 && passesLuhn(digits)) result += CARD;
    else if (digits.length >= 7 && digits.length <= 15 && run !== digits) result += PHONE;
    else if (digits.length >= 10 && digits.length <= 15 && run.startsWith('+')) result += PHONE;
    else result += run;
    index = end;
  }
  return result;
}

/**
 * `text` with personal data replaced: e-mail addresses by `[email]`; digit runs of 13–19 digits that pass the Luhn
 * check (payment cards, written with or without spaces or dashes) by `[card]`; digit runs of 7–15 digits written
 * with separators (`+1 415-555-0123`, `(020) 7946 0958`) or starting with `+` by `[phone]`. Plain numbers without
 * separators (an id, an amount, a year) are kept.
 *
 * @example
 * redactPii('mail jane@example.com or call +44 20 7946 0958'); // 'mail [email] or call [phone]'
 */
export function redactPii(text: string): string {
  const withoutEmails = text.replace(/\S+/g, (token) => (token.includes('@') ? redactEmailIn(token) : token));
  return redactNumbers(withoutEmails);
}
