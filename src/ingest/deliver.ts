// Decoding and accounting shared by every transport: bytes → string → sink, counted per sender and globally.
import { isUtf8 } from 'node:buffer';
import type { EpochMs } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { FieldMessage, Transport } from '../core/types.js';
import type { SenderRecord } from './senders.js';
import type { MessageSink } from './sink.js';
import type { TransportCounters } from './stats.js';

export class Delivery {
  readonly #sink: MessageSink;
  readonly #log: Logger;

  constructor(sink: MessageSink, log: Logger) {
    this.#sink = sink;
    this.#log = log;
  }

  /**
   * Hands bytes `[start, end)` of `buf` to the sink as text. Invalid UTF-8 is delivered with
   * replacement characters and counted: a mangled line may still name an attacker.
   */
  deliver(
    buf: Buffer,
    start: number,
    end: number,
    sender: SenderRecord,
    counters: TransportCounters,
    transport: Transport,
    receivedAt: EpochMs,
  ): void {
    const text = buf.toString('utf8', start, end);
    count(text, buf, start, end, sender, counters, transport);
    try {
      this.#sink.accept(text, sender, receivedAt);
    } catch (e) {
      // The contract forbids throwing; if a sink does anyway, the listener must outlive it.
      this.#log.error({ err: e, peer: sender.address, transport }, 'message sink threw');
    }
  }

  /**
   * Hands a message that arrived as fields to the sink; its `message` was decoded from bytes
   * `[start, end)` of `buf`, which are what is counted (and checked for invalid UTF-8).
   */
  deliverFields(
    message: FieldMessage,
    buf: Buffer,
    start: number,
    end: number,
    sender: SenderRecord,
    counters: TransportCounters,
    transport: Transport,
    receivedAt: EpochMs,
  ): void {
    count(message.message, buf, start, end, sender, counters, transport);
    try {
      this.#sink.acceptFields(message, sender, receivedAt);
    } catch (e) {
      this.#log.error({ err: e, peer: sender.address, transport }, 'message sink threw');
    }
  }
}

/** Counts one message whose `text` was decoded from bytes `[start, end)` of `buf`. */
function count(
  text: string,
  buf: Buffer,
  start: number,
  end: number,
  sender: SenderRecord,
  counters: TransportCounters,
  transport: Transport,
): void {
  const bytes = end - start;
  // ASCII decodes to one code unit per byte and never to U+FFFD; only other text needs the check.
  if ((text.length !== bytes || text.includes('\uFFFD')) && !isUtf8(buf.subarray(start, end))) {
    sender.invalidUtf8++;
    counters.invalidUtf8++;
  }
  sender.messages++;
  sender.bytes += bytes;
  sender.transports[transport]++;
  counters.messages++;
  counters.bytes += bytes;
}
