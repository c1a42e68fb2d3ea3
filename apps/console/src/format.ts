// Numbers as people read them: money in the reporting currency, counts with separators, times in local time.

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** `0.00054` → `$0.00054`; small amounts keep their significant digits instead of showing as $0.00. */
export function formatMoney(amount: number, currency: string): string {
  const small = amount !== 0 && Math.abs(amount) < 0.01;
  const id = `${currency}:${small}`;
  let format = moneyFormats.get(id);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat(undefined, {
        style: 'currency',
        currency,
        ...(small ? { maximumSignificantDigits: 3 } : { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
      });
    } catch {
      // A code Intl does not know: the number and the code.
      format = new Intl.NumberFormat(undefined, { maximumFractionDigits: small ? 6 : 2 });
      const plain = format;
      format = { format: (value: number) => `${plain.format(value)} ${currency}` } as Intl.NumberFormat;
    }
    moneyFormats.set(id, format);
  }
  return format.format(amount);
}

const counts = new Intl.NumberFormat();
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export function formatCount(value: number): string {
  return counts.format(value);
}

export function formatCompact(value: number): string {
  return compact.format(value);
}

export function formatMs(value: number | null): string {
  if (value === null) return '—';
  return value < 1000 ? `${value} ms` : `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function formatTime(iso: string): string {
  return dateTime.format(new Date(iso));
}

export function formatPercent(part: number, whole: number): string {
  if (whole === 0) return '—';
  return `${((100 * part) / whole).toFixed(part === 0 || part === whole ? 0 : 1)}%`;
}
