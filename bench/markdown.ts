/** Number formatting and Markdown tables shared by the bench's reports. */

export function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

export function thousands(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

/**
 * "median (min–max)" when there is more than one run. Runs without a value (NaN: nothing to
 * measure, e.g. no delivery at all) are left out of the median and counted after it.
 */
export function spread(values: number[], format: (v: number) => string): string {
  const measured = values.filter((v) => !Number.isNaN(v));
  const missing = values.length - measured.length;
  const shown =
    measured.length < 2
      ? format(measured[0] ?? Number.NaN)
      : `${format(median(measured))} (${format(Math.min(...measured))}–${format(Math.max(...measured))})`;
  return missing > 0 && measured.length > 0 ? `${shown}; n/a in ${missing}` : shown;
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
