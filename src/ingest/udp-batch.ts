// The receiving thread's side of a batch: datagram texts packed into one buffer, posted to the listener in one message.
import { SharedSlot, KIND_BITS, RecordKind, type Batch } from './udp-protocol.js';

/** Most records per batch, and the least staging space (bytes): bounds one postMessage. */
const MAX_RECORDS = 1024;
const MIN_STAGING = 1 << 20;

export class BatchWriter {
  readonly #post: (batch: Batch, transfer: ArrayBuffer[]) => void;
  readonly #shared: Int32Array;
  readonly #maxBacklog: number;
  readonly #staging: Buffer;
  readonly #meta = new Uint32Array(2 * MAX_RECORDS);
  #used = 0;
  #count = 0;
  #dropped = 0;
  #senders: string[] = [];
  #senderIndex = new Map<string, number>();

  constructor(
    post: (batch: Batch, transfer: ArrayBuffer[]) => void,
    shared: Int32Array,
    maxBacklog: number,
    maxMessageSize: number,
  ) {
    this.#post = post;
    this.#shared = shared;
    this.#maxBacklog = maxBacklog;
    this.#staging = Buffer.allocUnsafeSlow(Math.max(MIN_STAGING, maxMessageSize));
  }

  /** Records in the batch being built. */
  get count(): number {
    return this.#count;
  }

  /** Whether anything (records or drops) waits to be posted. */
  get pending(): boolean {
    return this.#count > 0 || this.#dropped > 0;
  }

  /** Records that may still be added before the listener's backlog is full. */
  room(): number {
    return this.#maxBacklog - Atomics.load(this.#shared, SharedSlot.backlog) - this.#count;
  }

  /** Counts datagrams dropped because the backlog was full; they cross with the next batch. */
  drop(n: number): void {
    this.#dropped += n;
  }

  /** Adds a record; `text[start, end)` is copied for a message, nothing for a refusal. */
  add(sender: string, kind: RecordKind, text: Uint8Array | null, start = 0, end = 0): void {
    const length = end - start;
    if (this.#count === MAX_RECORDS || this.#used + length > this.#staging.length) this.flush();
    let index = this.#senderIndex.get(sender);
    if (index === undefined) {
      index = this.#senders.length;
      this.#senders.push(sender);
      this.#senderIndex.set(sender, index);
    }
    if (text !== null && length > 0) {
      this.#staging.set(text.subarray(start, end), this.#used);
      this.#used += length;
    }
    this.#meta[2 * this.#count] = (index << KIND_BITS) | kind;
    this.#meta[2 * this.#count + 1] = this.#used;
    this.#count++;
  }

  /** Posts the batch (texts and layout transferred, not copied) and starts a new one. */
  flush(): void {
    if (!this.pending) return;
    // allocUnsafeSlow: the staging buffer owns a plain ArrayBuffer of its own, from offset 0.
    const bytes = (this.#staging.buffer as ArrayBuffer).slice(0, this.#used);
    const meta = this.#meta.slice(0, 2 * this.#count);
    Atomics.add(this.#shared, SharedSlot.backlog, this.#count);
    this.#post(
      { type: 'batch', senders: this.#senders, bytes, meta, backlogDropped: this.#dropped },
      [bytes, meta.buffer],
    );
    this.#used = 0;
    this.#count = 0;
    this.#dropped = 0;
    this.#senders = [];
    this.#senderIndex = new Map();
  }
}
