// Aggregation under a heavy attack: how much of one attacker's queued failures a script needs to see.

/** Most failures one script carries, unless maxretry is larger. */
export const MAX_SEND = 512;

/**
 * Splits one attacker's queued failures (arrival order) into what is sent now and what waits.
 * The FailureWindows rule is run on the failures alone: the cut falls right after the failure
 * at which they alone would reach maxretry, since with what Redis already holds the crossing
 * comes there or sooner, and what follows a crossing is never counted. Past max(MAX_SEND,
 * maxretry) failures the cut falls there too. Whatever waits is the caller's: settled as
 * decided after a crossing, sent in the next flush otherwise.
 */
export function cutAtCrossing<T extends { readonly time: number }>(
  failures: readonly T[],
  findtimeMs: number,
  maxretry: number,
): { readonly send: readonly T[]; readonly tail: T[] } {
  const limit = Math.max(MAX_SEND, maxretry);
  if (failures.length <= maxretry && failures.length <= limit) return { send: failures, tail: [] };
  const times: number[] = [];
  let newest = -Infinity;
  const end = Math.min(failures.length, limit);
  for (let i = 0; i < end; i++) {
    const t = (failures[i] as T).time;
    if (findtimeMs <= 0) continue;
    newest = Math.max(newest, t);
    const cutoff = newest - findtimeMs;
    if (t <= cutoff) continue;
    let at = times.length;
    while (at > 0 && (times[at - 1] as number) > t) at--;
    times.splice(at, 0, t);
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= cutoff) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length >= maxretry)
      return { send: failures.slice(0, i + 1), tail: failures.slice(i + 1) };
  }
  return { send: failures.slice(0, end), tail: failures.slice(end) };
}
