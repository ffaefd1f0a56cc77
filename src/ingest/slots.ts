// Which stream connections get a slot: a cap per sender and in all, and room made by evicting a connection still waiting for its first frame.

export interface SlotLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerSender: number;
}

/** The place of one admitted connection. */
export interface Slot<C> {
  readonly conn: C;
  /** Canonical sender address. */
  readonly sender: string;
  /** The sender had delivered messages before this connection: its waiting connections go last. */
  readonly known: boolean;
}

export type Admission<C> =
  | { readonly admitted: true; readonly slot: Slot<C>; readonly evicted: C | null }
  | { readonly admitted: false; readonly reason: 'perSender' | 'full' };

/**
 * Idle connections cost an attacker nothing, so when every slot is taken the oldest connection
 * that has not yet delivered a frame gives way to the newcomer: a real sender frames at once and
 * keeps its slot, a flood of silent sockets only churns itself. Waiting connections of senders
 * seen before are evicted only for other known senders, never for a stranger.
 *
 * Contract: the caller closes an evicted connection and calls `release` for every admitted slot
 * once its connection is closed (`release` of a slot already evicted does nothing).
 */
export class ConnectionSlots<C> {
  readonly #limits: SlotLimits;
  readonly #held = new Set<Slot<C>>();
  readonly #perSender = new Map<string, number>();
  /** Slots still waiting for a first frame, oldest first (Set order is insertion order). */
  readonly #waitingStrangers = new Set<Slot<C>>();
  readonly #waitingKnown = new Set<Slot<C>>();

  constructor(limits: SlotLimits) {
    this.#limits = limits;
  }

  admit(conn: C, sender: string, known: boolean): Admission<C> {
    if ((this.#perSender.get(sender) ?? 0) >= this.#limits.maxConnectionsPerSender) {
      return { admitted: false, reason: 'perSender' };
    }
    let evicted: Slot<C> | undefined;
    if (this.#held.size >= this.#limits.maxConnections) {
      evicted = first(this.#waitingStrangers) ?? (known ? first(this.#waitingKnown) : undefined);
      if (evicted === undefined) return { admitted: false, reason: 'full' };
      this.release(evicted);
    }
    const slot: Slot<C> = { conn, sender, known };
    this.#held.add(slot);
    this.#perSender.set(sender, (this.#perSender.get(sender) ?? 0) + 1);
    (known ? this.#waitingKnown : this.#waitingStrangers).add(slot);
    return { admitted: true, slot, evicted: evicted?.conn ?? null };
  }

  /** The slot's connection delivered a complete frame: it is no longer evictable. */
  framed(slot: Slot<C>): void {
    if (!this.#waitingStrangers.delete(slot)) this.#waitingKnown.delete(slot);
  }

  release(slot: Slot<C>): void {
    if (!this.#held.delete(slot)) return;
    this.framed(slot);
    const left = (this.#perSender.get(slot.sender) ?? 1) - 1;
    if (left === 0) this.#perSender.delete(slot.sender);
    else this.#perSender.set(slot.sender, left);
  }

  /** Admitted slots not yet released. */
  get size(): number {
    return this.#held.size;
  }

  /** Slots still waiting for a first frame. */
  get waiting(): number {
    return this.#waitingStrangers.size + this.#waitingKnown.size;
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const item of set) return item;
  return undefined;
}
