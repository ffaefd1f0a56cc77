// Filter replay, the engine of `fleetban test-filter FILTER LOG` (fleetban's fail2ban-regex): syslog lines through one filter, counted like fail2ban-regex.
import { StringDecoder } from 'node:string_decoder';
import { systemClock, type Clock, type EpochMs } from '../core/clock.js';
import { isParseError, parseSyslog, SyslogTimeZone } from '../parse/syslog.js';
import type { CompiledFilter } from './filter.js';
import { ProgramSet } from './programs.js';

export interface TestFilterOptions {
  /** Only lines of these programs are tried (a jail's routing); undefined or [] = every line. */
  readonly programs?: readonly string[];
  /** Zone of the file's year-less stamps (or its name: `local`, `UTC`, IANA); default the local zone. */
  readonly timeZone?: SyslogTimeZone | string;
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

export interface RegexHits {
  readonly regex: string;
  readonly hits: number;
}

/**
 * How the lines were read. `syslog`: the header is parsed and the filter sees the MESSAGE
 * (built-in and fleetban filters, as jails run them). `fail2ban`: the filter sees the whole
 * line after fail2ban's date detection, as fail2ban-regex runs it.
 */
export type TestFilterEngine = 'syslog' | 'fail2ban';

export interface TestFilterSummary {
  readonly filter: string;
  readonly engine: TestFilterEngine;
  /** Lines tested: comment (`#`) and empty lines are skipped, as fail2ban-regex does. */
  readonly lines: number;
  /** Lines the syslog parser refused (they count as missed; always 0 for fail2ban filters). */
  readonly parseErrors: number;
  /** Lines of programs the filter is not routed to (they count as missed). */
  readonly otherPrograms: number;
  readonly matched: number;
  /** Lines an ignoreregex dropped, or (fail2ban) whose only results were `<F-NOFAIL>` ones. */
  readonly ignored: number;
  /** lines - matched - ignored, as fail2ban-regex counts them. */
  readonly missed: number;
  /** Hits per failregex, in the filter's order (fail2ban: `<F-NOFAIL>` hits included, as fail2ban-regex shows them). */
  readonly regexHits: readonly RegexHits[];
  readonly ignoreHits: readonly RegexHits[];
  /** Extracted addresses (or failure ids) and users, most frequent first. */
  readonly hosts: readonly Count[];
  readonly users: readonly Count[];
  /** Event times of the first and last matched line (null when nothing matched or had a time). */
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

export interface ListCaps {
  readonly listMatched?: number;
  readonly listMissed?: number;
  readonly listIgnored?: number;
}

/**
 * The counts both engines keep, in fail2ban-regex's terms: a line is ignored, matched or missed;
 * missed is whatever is left. Shared so both report the very same summary shape.
 */
export class TestFilterTally {
  lines = 0;
  matched = 0;
  ignored = 0;
  parseErrors = 0;
  otherPrograms = 0;
  readonly #regexHits: number[];
  readonly #ignoreHits: number[];
  readonly #failregex: readonly string[];
  readonly #ignoreregex: readonly string[];
  readonly #hosts = new Map<string, number>();
  readonly #users = new Map<string, number>();
  #firstTime: EpochMs | null = null;
  #lastTime: EpochMs | null = null;
  readonly #caps: { matched: number; missed: number; ignored: number };
  readonly #matchedLines: string[] = [];
  readonly #missedLines: string[] = [];
  readonly #ignoredLines: string[] = [];
  readonly #started = performance.now();

  constructor(failregex: readonly string[], ignoreregex: readonly string[], caps: ListCaps) {
    this.#failregex = failregex;
    this.#ignoreregex = ignoreregex;
    this.#regexHits = failregex.map(() => 0);
    this.#ignoreHits = ignoreregex.map(() => 0);
    this.#caps = {
      matched: caps.listMatched ?? 0,
      missed: caps.listMissed ?? 0,
      ignored: caps.listIgnored ?? 0,
    };
  }

  regexHit(index: number): void {
    this.#regexHits[index] = (this.#regexHits[index] ?? 0) + 1;
  }

  ignoreHit(index: number): void {
    this.#ignoreHits[index] = (this.#ignoreHits[index] ?? 0) + 1;
  }

  /** What a failure named: its address or id, its users, its time. */
  extracted(host: string, users: readonly string[], time: EpochMs | null): void {
    if (host !== '') this.#hosts.set(host, (this.#hosts.get(host) ?? 0) + 1);
    for (const u of users) if (u !== '') this.#users.set(u, (this.#users.get(u) ?? 0) + 1);
    if (time === null) return;
    if (this.#firstTime === null || time < this.#firstTime) this.#firstTime = time;
    if (this.#lastTime === null || time > this.#lastTime) this.#lastTime = time;
  }

  matchedLine(line: string): void {
    this.lines++;
    this.matched++;
    if (this.#matchedLines.length < this.#caps.matched) this.#matchedLines.push(line);
  }

  ignoredLine(line: string): void {
    this.lines++;
    this.ignored++;
    if (this.#ignoredLines.length < this.#caps.ignored) this.#ignoredLines.push(line);
  }

  missedLine(line: string): void {
    this.lines++;
    if (this.#missedLines.length < this.#caps.missed) this.#missedLines.push(line);
  }

  /**
   * A line counted before turned out to be part of a later multi-line match: fail2ban-regex
   * then moves one line from missed to matched (whatever the line was counted as) and drops
   * it from the missed list.
   */
  promoteToMatched(line: string): void {
    this.matched++;
    const at = this.#missedLines.indexOf(line);
    if (at >= 0) this.#missedLines.splice(at, 1);
    if (this.#matchedLines.length < this.#caps.matched) this.#matchedLines.push(line);
  }

  summary(filter: string, engine: TestFilterEngine): TestFilterSummary {
    const elapsedMs = performance.now() - this.#started;
    const hits = (sources: readonly string[], counts: readonly number[]): RegexHits[] =>
      sources.map((regex, i) => ({ regex, hits: counts[i] ?? 0 }));
    return {
      filter,
      engine,
      lines: this.lines,
      parseErrors: this.parseErrors,
      otherPrograms: this.otherPrograms,
      matched: this.matched,
      ignored: this.ignored,
      missed: this.lines - this.matched - this.ignored,
      regexHits: hits(this.#failregex, this.#regexHits),
      ignoreHits: hits(this.#ignoreregex, this.#ignoreHits),
      hosts: ranked(this.#hosts),
      users: ranked(this.#users),
      firstTime: this.#firstTime,
      lastTime: this.#lastTime,
      elapsedMs,
      linesPerSecond: elapsedMs > 0 ? Math.round((this.lines * 1000) / elapsedMs) : this.lines,
      matchedLines: this.#matchedLines,
      missedLines: this.#missedLines,
      ignoredLines: this.#ignoredLines,
    };
  }
}

/** fail2ban-regex skips comment lines (they annotate sample logs) and empty ones. */
export function isTestedLine(line: string): boolean {
  return line !== '' && !line.startsWith('#');
}

/** Feeds every line of a source, batch or single, to `one`. */
export async function forEachLine(source: LineSource, one: (line: string) => void): Promise<void> {
  for await (const item of source) {
    if (typeof item === 'string') one(item);
    else for (const line of item) one(line);
  }
}

/**
 * Runs every line through the syslog parser (file lines have no PRI: traditional format) and
 * then the filter, believing the file's own timestamps (old logs replay at their own time).
 */
export async function replayFilter(
  filter: CompiledFilter,
  source: LineSource,
  options: TestFilterOptions = {},
): Promise<TestFilterSummary> {
  const programs =
    options.programs !== undefined && options.programs.length > 0
      ? new ProgramSet(options.programs)
      : null;
  const parseOptions = {
    maxSkewMs: Number.POSITIVE_INFINITY,
    timeZone:
      typeof options.timeZone === 'string'
        ? new SyslogTimeZone(options.timeZone)
        : (options.timeZone ?? new SyslogTimeZone()),
  };
  const receivedAt = (options.clock ?? systemClock).now();
  const tally = new TestFilterTally(
    filter.failregex.map((r) => r.source),
    filter.ignoreregex.map((r) => r.source),
    options,
  );

  await forEachLine(source, (line) => {
    if (!isTestedLine(line)) return;
    // A line that does not even contain a wanted program name cannot be from it: skip the parse.
    if (programs !== null && !programs.mayAppearIn(line)) {
      tally.otherPrograms++;
      tally.missedLine(line);
      return;
    }
    const event = parseSyslog(line, '127.0.0.1', receivedAt, parseOptions);
    if (isParseError(event)) {
      tally.parseErrors++;
      tally.missedLine(line);
      return;
    }
    if (programs !== null && !programs.has(event.program)) {
      tally.otherPrograms++;
      tally.missedLine(line);
      return;
    }
    const hit = filter.classify(event.message, event);
    if (hit === null) {
      tally.missedLine(line);
      return;
    }
    if (hit.ignored) {
      const which = filter.ignoreregex.findIndex((r) => r.regexp.test(event.message));
      if (which >= 0) tally.ignoreHit(which);
      tally.ignoredLine(line);
      return;
    }
    // As in fail2ban-regex, a failregex match an ignoreregex dropped is not a hit.
    tally.regexHit(hit.regex);
    tally.extracted(hit.address, hit.user === '' ? [] : [hit.user], event.time);
    tally.matchedLine(line);
  });
  return tally.summary(filter.name, 'syslog');
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
