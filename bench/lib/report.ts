// Small arithmetic and printing shared by the benchmarks: medians, ratios, verdicts, result files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo } from './machine.js';
import { outDir } from './paths.js';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const hi = sorted[mid] ?? Number.NaN;
  if (sorted.length % 2 === 1) return hi;
  return ((sorted[mid - 1] ?? hi) + hi) / 2;
}

/** The run whose `key` is the median (odd counts) or the upper middle, to report its other fields. */
export function medianRun<T>(runs: readonly T[], key: (r: T) => number): T | undefined {
  const sorted = [...runs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor(sorted.length / 2)];
}

/** 1234567 → "1,234,567". */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function fmtRatio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a';
}

export function verdict(pass: boolean | null): string {
  if (pass === null) return 'not measured';
  return pass ? 'PASS' : 'FAIL';
}

/** Prints rows as an aligned text table. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
}

/** Writes bench/out/results/NAME.json with the machine info, so figures can be traced to a run. */
export function writeResult(name: string, result: object): string {
  const dir = join(outDir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const doc = { bench: name, at: new Date().toISOString(), machine: machineInfo(), ...result };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}
