// The hand-off from ingest to the parser: one call per framed, decoded message (or per journal entry, as fields).
import type { EpochMs } from '../core/clock.js';
import type { FieldMessage } from '../core/types.js';
import type { SenderRecord } from './senders.js';

/**
 * Receives each framed message, in the order it arrived on its socket.
 *
 * `accept` must not throw (ingest cannot tell a sink bug from bad input, and a listener must
 * never die of one message) and must not block: it runs on the socket's read path. `text` is
 * a fresh string, so keeping it is fine. `sender` is the live, mutable record of the peer:
 * the sink may increment `parseErrors` on it (a record kept past its eviction is no longer reported).
 */
export interface MessageSink {
  accept(text: string, sender: SenderRecord, receivedAt: EpochMs): void;
  /**
   * The same for a message that arrived as fields (a journal entry) rather than as syslog text:
   * there is no header to parse, but its host name is a claim as a HOSTNAME is. Same rules.
   */
  acceptFields(message: FieldMessage, sender: SenderRecord, receivedAt: EpochMs): void;
}
