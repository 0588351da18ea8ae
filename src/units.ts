/** Human-readable units shared by the library and the CLI. */
const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** Bytes in decimal units with three significant digits: '0 B', '271 MB', '2.49 GB', '12.1 GB'. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '? B';
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  if (value < 1000) return `${sign}${Math.round(value)} B`;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  let text = value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  if (Number(text) >= 1000 && unit < BYTE_UNITS.length - 1) {
    unit++;
    text = (Number(text) / 1000).toFixed(2);
  }
  return `${sign}${text} ${BYTE_UNITS[unit]}`;
}

/** How far `value` is from `reference`, in percent with two decimals: '-0.59%', '0.06%'. */
export function formatPercentDifference(value: number, reference: number): string {
  return `${(((value - reference) / reference) * 100).toFixed(2)}%`;
}
