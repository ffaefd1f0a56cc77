// The engine of `fleetban test-filter FILTER FILE|-` (fleetban's fail2ban-regex): replays a syslog file through one filter.
import { StringDecoder } from 'node:string_decoder';
import { systemClock, type Clock, type EpochMs } from '../core/clock.js';
import { isParseError, parseSyslog, SyslogTimeZone } from '../parse/syslog.js';
import type { CompiledFilter } from './filter.js';

export interface TestFilterOptions {
  /** Only lines of these programs are tried (a jail's routing); undefined or [] = every line. */
  readonly programs?: readonly string[];
  /** Zone of the file's year-less stamps; default the server's local zone. */
  readonly timeZone?: SyslogTimeZone;
  /** Supplies the receive time that anchors year inference; default the system clock. */
  readonly clock?: Clock;
  /** How many matched / missed / ignored lines to return (default 0: counts only). */
  readonly listMatched?: number;
  readonly listMissed?: number;
  readonly listIgnored?: number;
}

export interface Count {
  readonly value: string;
  readonly count: number;
}

export interface TestFilterSummary {
  readonly filter: string;
  readonly lines: number;
  /** Lines the syslog parser refused (they count as missed; lines of other programs are not parsed). */
  readonly parseErrors: number;
  /** Lines of programs the filter is not routed to (they count as missed). */
  readonly otherPrograms: number;
  readonly matched: number;
  /** Lines an ignoreregex dropped after a failregex matched. */
  readonly ignored: number;
  /** lines - matched - ignored, as fail2ban-regex counts them. */
  readonly missed: number;
  /** Hits per failregex, in the filter's order. */
  readonly regexHits: readonly { readonly regex: string; readonly hits: number }[];
  /** Extracted addresses and users, most frequent first. */
  readonly hosts: readonly Count[];
  readonly users: readonly Count[];
  /** Event times of the first and last matched line (null when nothing matched). */
  readonly firstTime: EpochMs | null;
  readonly lastTime: EpochMs | null;
  readonly elapsedMs: number;
  readonly linesPerSecond: number;
  readonly matchedLines: readonly string[];
  readonly missedLines: readonly string[];
  readonly ignoredLines: readonly string[];
}

/** Lines, or batches of lines (faster: one await per batch instead of per line). */
export type LineSource =
  AsyncIterable<string | readonly string[]> | Iterable<string | readonly string[]>;

/**
 * Runs every line through the syslog parser (file lines have no PRI: traditional format) and
 * then the filter, believing the file's own timestamps (old logs replay at their own time).
 */
export async function testFilter(
  filter: CompiledFilter,
  source: LineSource,
  options: TestFilterOptions = {},
): Promise<TestFilterSummary> {
  const started = performance.now();
  const programs =
    options.programs !== undefined && options.programs.length > 0
      ? new Set(options.programs)
      : null;
  const parseOptions = {
    maxSkewMs: Number.POSITIVE_INFINITY,
    timeZone: options.timeZone ?? new SyslogTimeZone(),
  };
  const receivedAt = (options.clock ?? systemClock).now();
  const caps = {
    matched: options.listMatched ?? 0,
    missed: options.listMissed ?? 0,
    ignored: options.listIgnored ?? 0,
  };
  const regexHits = filter.failregex.map(() => 0);
  const hosts = new Map<string, number>();
  const users = new Map<string, number>();
  const matchedLines: string[] = [];
  const missedLines: string[] = [];
  const ignoredLines: string[] = [];
  let lines = 0;
  let parseErrors = 0;
  let otherPrograms = 0;
  let matched = 0;
  let ignored = 0;
  let firstTime: EpochMs | null = null;
  let lastTime: EpochMs | null = null;

  const names = programs === null ? [] : [...programs];
  const one = (line: string): void => {
    lines++;
    // A line that does not even contain a wanted program name cannot be from it: skip the parse.
    if (programs !== null && !names.some((p) => line.includes(p))) {
      otherPrograms++;
      if (missedLines.length < caps.missed) missedLines.push(line);
      return;
    }
    const event = parseSyslog(line, '127.0.0.1', receivedAt, parseOptions);
    if (isParseError(event)) {
      parseErrors++;
      if (missedLines.length < caps.missed) missedLines.push(line);
      return;
    }
    if (programs !== null && !programs.has(event.program)) {
      otherPrograms++;
      if (missedLines.length < caps.missed) missedLines.push(line);
      return;
    }
    const hit = filter.classify(event.message);
    if (hit === null) {
      if (missedLines.length < caps.missed) missedLines.push(line);
      return;
    }
    if (hit.ignored) {
      ignored++;
      if (ignoredLines.length < caps.ignored) ignoredLines.push(line);
      return;
    }
    matched++;
    regexHits[hit.regex] = (regexHits[hit.regex] ?? 0) + 1;
    hosts.set(hit.address, (hosts.get(hit.address) ?? 0) + 1);
    if (hit.user !== '') users.set(hit.user, (users.get(hit.user) ?? 0) + 1);
    if (firstTime === null || event.time < firstTime) firstTime = event.time;
    if (lastTime === null || event.time > lastTime) lastTime = event.time;
    if (matchedLines.length < caps.matched) matchedLines.push(line);
  };

  for await (const item of source) {
    if (typeof item === 'string') one(item);
    else for (const line of item) one(line);
  }

  const elapsedMs = performance.now() - started;
  return {
    filter: filter.name,
    lines,
    parseErrors,
    otherPrograms,
    matched,
    ignored,
    missed: lines - matched - ignored,
    regexHits: filter.failregex.map((r, i) => ({ regex: r.source, hits: regexHits[i] ?? 0 })),
    hosts: ranked(hosts),
    users: ranked(users),
    firstTime,
    lastTime,
    elapsedMs,
    linesPerSecond: elapsedMs > 0 ? Math.round((lines * 1000) / elapsedMs) : lines,
    matchedLines,
    missedLines,
    ignoredLines,
  };
}

function ranked(counts: ReadonlyMap<string, number>): Count[] {
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
}

/**
 * Splits a byte or text stream (a file, stdin) into batches of lines: one batch per chunk.
 * A trailing CR is dropped; empty lines are skipped; a last line without LF is kept.
 */
export async function* linesOf(stream: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  // A chunk may end inside a multi-byte character: the decoder carries it to the next chunk.
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    yield clean(parts);
  }
  rest += decoder.end();
  if (rest !== '') yield clean([rest]);
}

function clean(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    const line = p.endsWith('\r') ? p.slice(0, -1) : p;
    if (line !== '') out.push(line);
  }
  return out;
}
