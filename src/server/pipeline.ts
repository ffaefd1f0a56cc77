// The hot path from a received message to the jails: parse, count parse errors, check the claimed host, hand the event on.
import type { EpochMs } from '../core/clock.js';
import type { FieldMessage, SyslogEvent } from '../core/types.js';
import type { HostBindings } from '../ingest/host-bindings.js';
import type { MessageSink } from '../ingest/sink.js';
import type { SenderRecord } from '../ingest/senders.js';
import { fieldEvent } from '../parse/fields.js';
import { isParseError, parseSyslog, type ParseOptions } from '../parse/syslog.js';

export interface PipelineStats {
  parsed: number;
  parseErrors: number;
  /** Messages claiming a HOSTNAME bound to other sender addresses (ingest.senders). */
  spoofedHostname: number;
  /** Parse errors by reason (ParseReason texts). */
  readonly errorsByReason: Map<string, number>;
}

/**
 * A MessageSink that parses each message and gives the event to `next` (the jail engine).
 * `next` is swapped on reload without stopping ingest.
 */
export class Pipeline implements MessageSink {
  readonly stats: PipelineStats = {
    parsed: 0,
    parseErrors: 0,
    spoofedHostname: 0,
    errorsByReason: new Map(),
  };
  readonly #options: ParseOptions;
  /** null when no host name is bound: the hot path then checks nothing. */
  readonly #bindings: HostBindings | null;
  #next: (event: SyslogEvent) => void;

  constructor(
    options: ParseOptions,
    next: (event: SyslogEvent) => void,
    bindings: HostBindings | null = null,
  ) {
    this.#options = options;
    this.#next = next;
    this.#bindings = bindings === null || bindings.empty ? null : bindings;
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
    this.#pass(result, sender);
  }

  acceptFields(message: FieldMessage, sender: SenderRecord, receivedAt: EpochMs): void {
    this.#pass(fieldEvent(message, sender.address, receivedAt, this.#options), sender);
  }

  #pass(event: SyslogEvent, sender: SenderRecord): void {
    this.stats.parsed++;
    if (this.#bindings !== null && !this.#bindings.allows(event.hostname, event.peer)) {
      // The claim is false: the line is the peer's own, recorded and scoped under its address.
      sender.spoofedHostname++;
      this.stats.spoofedHostname++;
      this.#next({ ...event, hostname: event.peer });
      return;
    }
    this.#next(event);
  }
}
