// The UTC offset of an IANA time zone at an instant, through Intl: the one place that asks ICU.

/**
 * Returns a function giving, for an instant (epoch ms), how many ms the zone's wall clock is ahead
 * of UTC then, to the second. Intl is slow (several µs a call): callers memoise in front of it.
 * Throws RangeError for a zone name the runtime does not know.
 */
export function zoneOffsetAt(zone: string): (instant: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (instant) => {
    const f: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(instant))) f[part.type] = Number(part.value);
    const wall = Date.UTC(
      f['year'] ?? 1970,
      (f['month'] ?? 1) - 1,
      f['day'] ?? 1,
      f['hour'] ?? 0,
      f['minute'] ?? 0,
      f['second'] ?? 0,
    );
    return wall - Math.floor(instant / 1000) * 1000;
  };
}
