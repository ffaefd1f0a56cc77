// RFC 3339 timestamps as RFC 5424 and rsyslog's forward formats write them, scanned by character code.
import type { EpochMs } from '../core/clock.js';
import { daysInMonth, utcEpoch } from './civil.js';

const C_0 = 48;
const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;
const C_COLON = 58;
const C_T = 84;
const C_Z = 90;
const C_t = 116;
const C_z = 122;

/** Value of the two decimal digits at `i`, or -1. */
function two(text: string, i: number): number {
  const a = text.charCodeAt(i) - C_0;
  const b = text.charCodeAt(i + 1) - C_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Parses `YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)` occupying exactly text[start, end).
 * Returns epoch milliseconds, or NaN when the text is not such a timestamp or names no real
 * date. Fractions beyond milliseconds are truncated; a leap second rolls into the next minute.
 * `±hhmm` (no colon) is accepted too, as some appliances send it.
 */
export function parseRfc3339(text: string, start: number, end: number): EpochMs {
  if (end - start < 20) return NaN;
  const hi = two(text, start);
  const lo = two(text, start + 2);
  const month = two(text, start + 5);
  const day = two(text, start + 8);
  const t = text.charCodeAt(start + 10);
  const hour = two(text, start + 11);
  const min = two(text, start + 14);
  const sec = two(text, start + 17);
  if (
    hi < 0 ||
    lo < 0 ||
    text.charCodeAt(start + 4) !== C_MINUS ||
    text.charCodeAt(start + 7) !== C_MINUS ||
    (t !== C_T && t !== C_t) ||
    text.charCodeAt(start + 13) !== C_COLON ||
    text.charCodeAt(start + 16) !== C_COLON ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    min < 0 ||
    min > 59 ||
    sec < 0 ||
    sec > 60
  ) {
    return NaN;
  }
  const year = hi * 100 + lo;
  if (day > daysInMonth(year, month)) return NaN;

  let i = start + 19;
  let ms = 0;
  if (text.charCodeAt(i) === C_DOT) {
    i++;
    const digitsFrom = i;
    let scale = 100;
    for (; i < end; i++) {
      const d = text.charCodeAt(i) - C_0;
      if (d < 0 || d > 9) break;
      ms += d * scale;
      scale /= 10;
    }
    if (i === digitsFrom) return NaN;
    ms = Math.floor(ms);
  }

  const zone = text.charCodeAt(i);
  let offsetMin = 0;
  if (zone === C_Z || zone === C_z) {
    i++;
  } else if (zone === C_PLUS || zone === C_MINUS) {
    const oh = two(text, i + 1);
    const colon = text.charCodeAt(i + 3) === C_COLON ? 1 : 0;
    const om = two(text, i + 3 + colon);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offsetMin = (zone === C_MINUS ? -1 : 1) * (oh * 60 + om);
    i += 5 + colon;
  } else {
    return NaN;
  }
  if (i !== end) return NaN;
  return utcEpoch(year, month, day, hour, min, sec) + ms - offsetMin * 60_000;
}
