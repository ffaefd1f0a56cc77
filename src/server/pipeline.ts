// The hot path from a received message to the jails: parse, count parse errors, hand the event on.
import type { EpochMs } from '../core/clock.js';
import type { SyslogEvent } from '../core/types.js';
import type { MessageSink } from '../ingest/sink.js';
import type { SenderRecord } from '../ingest/senders.js';
import { isParseError, parseSyslog, type ParseOptions } from '../parse/syslog.js';

export interface PipelineStats {
  parsed: number;
  parseErrors: number;
  /** Parse errors by reason (ParseReason texts). */
  readonly errorsByReason: Map<string, number>;
}

/**
 * A MessageSink that parses each message and gives the event to `next` (the jail engine).
 * `next` is swapped on reload without stopping ingest.
 */
export class Pipeline implements MessageSink {
  readonly stats: PipelineStats = { parsed: 0, parseErrors: 0, errorsByReason: new Map() };
  readonly #options: ParseOptions;
  #next: (event: SyslogEvent) => void;

  constructor(options: ParseOptions, next: (event: SyslogEvent) => void) {
    this.#options = options;
    this.#next = next;
  }

  setNext(next: (event: SyslogEvent) => void): void {
    this.#next = next;
  }

  accept(text: string, sender: SenderRecord, receivedAt: EpochMs): void {
    const result = parseSyslog(text, sender.address, receivedAt, this.#options);
    if (isParseError(result)) {
      sender.parseErrors++;
      this.stats.parseErrors++;
      const by = this.stats.errorsByReason;
      by.set(result.reason, (by.get(result.reason) ?? 0) + 1);
      return;
    }
    this.stats.parsed++;
    this.#next(result);
  }
}
