// The messages between the UDP listener and its receiving thread, and the layout of one batch of datagrams.

/**
 * How the thread reads its socket: `recvmmsg` through fleetban's addon (native/udp_recv.c), many
 * datagrams per system call; `dgram`, Node's socket, one callback per datagram (about a third of
 * the rate), used when the addon is not built.
 */
export type UdpReader = 'recvmmsg' | 'dgram';

/** Int32 slots of `ReceiverSetup.shared`. */
export const SharedSlot = {
  /**
   * Messages handed over and not yet consumed. The thread adds a batch's records when it posts
   * it, the listener subtracts them once delivered; the thread drops (and counts) datagrams while
   * it is at `maxBacklog`, so a stalled main thread cannot grow memory without bound.
   */
  backlog: 0,
  /** Set to 1 by the listener to stop the thread (a thread in recvmmsg reads no messages). */
  stop: 1,
} as const;
export const SHARED_SLOTS = 2;

/** What the listener gives the receiving thread (as `workerData`). */
export interface ReceiverSetup {
  /** The reader wanted; the thread falls back to `dgram` when the addon cannot load. */
  readonly reader: UdpReader;
  readonly address: string;
  readonly port: number;
  readonly recvBufferSize: number;
  readonly maxMessageSize: number;
  /** `ingest.allowedSenders` as CIDR texts; empty = everyone. */
  readonly allowedSenders: readonly string[];
  /** Int32Array of SHARED_SLOTS, indexed by SharedSlot. */
  readonly shared: SharedArrayBuffer;
  readonly maxBacklog: number;
}

/** How a record in a batch ended: delivered text, or refused before any byte was kept. */
export const RecordKind = { message: 0, notAllowed: 1, oversized: 2 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

/**
 * Datagrams received in one turn of the thread's event loop. Record `i` is described by
 * `meta[2i]` = sender index << 2 | RecordKind and `meta[2i + 1]` = end offset of its text in
 * `bytes` (its start is the previous record's end; refused records add no bytes). `bytes` and
 * `meta.buffer` are transferred, not copied. Senders are canonical address texts.
 */
export interface Batch {
  readonly type: 'batch';
  readonly senders: readonly string[];
  readonly bytes: ArrayBuffer;
  readonly meta: Uint32Array;
  /** Datagrams dropped since the last batch because the backlog was full. */
  readonly backlogDropped: number;
}

export type FromReceiver =
  | {
      readonly type: 'ready';
      readonly address: string;
      readonly port: number;
      readonly family: string;
      /** SO_RCVBUF the kernel granted. */
      readonly recvBufferSize: number;
      readonly reader: UdpReader;
      /** Why the thread reads with `dgram` although `recvmmsg` was wanted. */
      readonly fallbackReason?: string;
    }
  | { readonly type: 'bind-failed'; readonly message: string; readonly code: string | undefined }
  /** Receive errors since the last report (at most one report a second), and the last one. */
  | { readonly type: 'socket-error'; readonly message: string; readonly count: number }
  | Batch
  /** Sent after the socket closed and the last batch went out; the thread then ends. */
  | { readonly type: 'closed' };

export type ToReceiver = { readonly type: 'close' };

export const KIND_BITS = 2;
export const KIND_MASK = (1 << KIND_BITS) - 1;
