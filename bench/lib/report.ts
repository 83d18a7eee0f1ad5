import { availableParallelism, cpus, loadavg } from 'node:os';

/** Small helpers for printing benchmark figures as aligned plain-text tables. */

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function fixed(value: number, digits = 0): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function ratio(value: number, peer: number): string {
  return `${(value / peer).toFixed(2)}x`;
}

/** Left-aligns the first column and right-aligns the rest. */
export function printTable(header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

export function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number, not '${raw}'`);
  }
  return value;
}

/** Other work on the machine skews every figure, so each run states what it shared. */
export function printMachine(): void {
  const load = loadavg().map((value) => value.toFixed(2));
  console.log(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model.trim()}), ` +
      `load average ${load.join(' ')} at start; Node ${process.version}`,
  );
}
