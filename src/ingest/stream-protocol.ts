// What a stream listener runs on each admitted connection: the contract, and plain syslog over TCP/TLS (RFC 6587 framing).
import type net from 'node:net';
import type { EpochMs } from '../core/clock.js';
import { FrameSplitter } from './framing.js';
import type { SenderRecord } from './senders.js';
import type { TransportCounters } from './stats.js';
import type { ListenerContext } from './udp.js';

/** One connection being served, as the listener keeps it up to date. */
export interface ServedConnection {
  /** The socket that carries the messages: the raw one, or its TLS wrapper. */
  readonly carrier: net.Socket;
  /** The peer's record, looked up again at each read (a long connection outlives evictions). */
  readonly sender: SenderRecord;
  /** When the bytes being read arrived. */
  readonly receivedAt: EpochMs;
  /**
   * The peer broke the protocol: counts it and logs it (aggregated). The reader then ends the
   * connection itself, once it has written its last answers.
   */
  fail(reason: string): void;
}

/**
 * Reads one connection's bytes. The listener calls `push` for each chunk read and `end` when the
 * peer ends; `close` when it shuts down, just before it half-closes the connection (a protocol
 * with acknowledgements says goodbye there and stops handing on messages it could not answer).
 * The reader delivers through the listener context and must not throw.
 */
export interface StreamReader {
  push(chunk: Buffer): void;
  end(): void;
  close(): void;
}

/** Makes the reader of each connection. */
export type StreamProtocol = (
  conn: ServedConnection,
  ctx: ListenerContext,
  counters: TransportCounters,
) => StreamReader;

/** Syslog over TCP or TLS: RFC 6587 frames, each delivered as it is read; no answer is written. */
export function syslogStream(transport: 'tcp' | 'tls'): StreamProtocol {
  return (conn, ctx, counters) => {
    const { delivery, limits, log } = ctx;
    const splitter = new FrameSplitter(
      { maxFrameSize: limits.maxStreamFrame },
      {
        frame: (buf, start, end) => {
          delivery.deliver(buf, start, end, conn.sender, counters, transport, conn.receivedAt);
        },
        oversized: () => {
          conn.sender.oversized++;
          counters.oversized++;
        },
        framingError: (reason) => {
          counters.framingErrors++;
          log.debug(
            { peer: conn.sender.address, transport, reason },
            'framing error, resynchronising',
          );
        },
      },
    );
    return {
      push: (chunk) => {
        splitter.push(chunk);
      },
      end: () => {
        splitter.end();
      },
      close: () => undefined,
    };
  };
}
