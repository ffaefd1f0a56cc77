// The messages between the UDP listener and its receiving thread, and the layout of one batch of datagrams.

/** What the listener gives the receiving thread (as `workerData`). */
export interface ReceiverSetup {
  readonly address: string;
  readonly port: number;
  readonly recvBufferSize: number;
  readonly maxMessageSize: number;
  /** `ingest.allowedSenders` as CIDR texts; empty = everyone. */
  readonly allowedSenders: readonly string[];
  /**
   * Messages handed over and not yet consumed: Int32Array view, index 0. The thread adds a batch's
   * records when it posts it, the listener subtracts them once delivered; the thread drops (and
   * counts) datagrams while it is at `maxBacklog`, so a stalled main thread cannot grow memory
   * without bound.
   */
  readonly backlog: SharedArrayBuffer;
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
    }
  | { readonly type: 'bind-failed'; readonly message: string; readonly code: string | undefined }
  | { readonly type: 'socket-error'; readonly message: string }
  | Batch
  /** Sent after the socket closed and the last batch went out; the thread then ends. */
  | { readonly type: 'closed' };

export type ToReceiver = { readonly type: 'close' };

export const KIND_BITS = 2;
export const KIND_MASK = (1 << KIND_BITS) - 1;
