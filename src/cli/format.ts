// Text shapes of human CLI output: aligned columns, times absolute and relative, host counts, sizes.
import type { EpochMs } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';

/** Columns separated by two spaces, padded to the widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Local time with its UTC offset, so a pasted line means the same everywhere: `2026-01-01 01:00:00+01:00`. */
export function formatTime(ms: EpochMs): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const offsetMin = -d.getTimezoneOffset();
  const sign = offsetMin >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** `in 55m`, `5m ago`, `now`. */
export function formatRelative(ms: EpochMs, now: EpochMs): string {
  const delta = Math.round((ms - now) / 1000);
  if (delta === 0) return 'now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** `2026-01-01 00:05:00+00:00 (5m ago)`. */
export function formatWhen(ms: EpochMs, now: EpochMs): string {
  return `${formatTime(ms)} (${formatRelative(ms, now)})`;
}

export function formatEnd(end: EpochMs | null, now: EpochMs): string {
  return end === null ? 'permanent' : formatWhen(end, now);
}

/** `web-01:3 web-02:2`: most failures first, then by name. */
export function formatHosts(hosts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(hosts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return entries.length === 0 ? '-' : entries.map(([h, n]) => `${h}:${n}`).join(' ');
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

/** `1h`, or `permanent` for a null bantime. */
export function formatBantime(seconds: number | null): string {
  return seconds === null ? 'permanent' : formatDuration(seconds);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
