// Durations as admins write them in fail2ban and fleetban config: seconds, or 30s/10m/1h/1d/1w strings.

/** Seconds. `null` in a ban's duration means permanent. */
export type Seconds = number;

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  s: 1,
  sec: 1,
  m: 60,
  min: 60,
  h: 3600,
  d: 86400,
  w: 604800,
};

/**
 * Parses a duration: a number of seconds (`600`, `"600"`) or a sum of unit terms
 * (`"10m"`, `"1h30m"`, `"1d"`). Returns `undefined` when the text is not a duration,
 * so callers can report the key that holds it.
 */
export function parseDuration(value: unknown): Seconds | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const term = /(\d+(?:\.\d+)?)\s*(sec|min|s|m|h|d|w)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    term.lastIndex = pos;
    const m = term.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 0);
    pos = term.lastIndex;
    while (text[pos] === ' ') pos++;
  }
  return total;
}

/**
 * Parses a ban time: a duration, or `-1` / `"permanent"` for a ban that never ends (`null`).
 */
export function parseBantime(value: unknown): Seconds | null | undefined {
  if (value === -1 || value === '-1' || value === 'permanent') return null;
  return parseDuration(value);
}

/** Formats seconds for humans: `90` → `1m30s`, `86400` → `1d`. */
export function formatDuration(seconds: Seconds): string {
  let rest = Math.round(seconds);
  if (rest <= 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
