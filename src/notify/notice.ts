// What mail is made of: a queued ban or unban notice, and the rendered message; pure types over core.
import type { EpochMs } from '../core/clock.js';
import type { Ban, DetailedBan } from '../core/types.js';

/**
 * One event worth a mail, as the outbox keeps it. `id` is the sequence number of the change it
 * reports (unique, ordered, stable across restarts); `at` is when it happened.
 */
export type Notice =
  | { readonly id: number; readonly kind: 'ban'; readonly at: EpochMs; readonly ban: DetailedBan }
  | {
      readonly id: number;
      readonly kind: 'unban';
      readonly at: EpochMs;
      readonly ban: Ban;
      readonly reason: string;
    };

/** A mail ready for a transport: a plain-text part and an HTML part saying the same. */
export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** What the renderer needs besides the notices; fixed in tests so golden files stay stable. */
export interface RenderContext {
  /** IANA zone for the times shown ('UTC', 'Europe/Berlin'); '' = the machine's zone. */
  readonly timeZone: string;
  /** The fleetban box's host name, named in the signature. */
  readonly hostname: string;
}
