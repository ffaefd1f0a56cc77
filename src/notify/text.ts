// Small pure helpers the mail renderer shares: time in a zone, HTML escaping, truncation, padding.
import type { EpochMs } from '../core/clock.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** `2026-01-01 00:00:00 UTC` in the given zone ('' = the machine's own). */
export function formatMailTime(t: EpochMs, timeZone: string): string {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      ...(timeZone === '' ? {} : { timeZone }),
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(new Date(t))) p[part.type] = part.value;
  const zone = p['timeZoneName'] ?? '';
  return `${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}:${p['second']}${zone === '' ? '' : ` ${zone}`}`;
}

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * One line of attacker-controlled text made safe for a mail: control characters shown as `?`
 * (a CR/LF could fake headers or lines), cut to `max` characters with an ellipsis.
 */
export function cleanLine(text: string, max: number): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/** Left-aligned columns separated by two spaces, the last column unpadded. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `1 ban`, `2 bans`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
