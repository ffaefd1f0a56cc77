// Everything a ban store holds, one record at a time: what `fleetban store migrate` carries from one store to another.
import type { AttackerHistory, Ban, BanDetails, HeldBan, Notice } from '../core/types.js';
import type { SentMail } from './store.js';

export type StoreRecord =
  | { readonly kind: 'ban'; readonly ban: Ban; readonly details: BanDetails }
  | { readonly kind: 'history'; readonly history: AttackerHistory }
  | { readonly kind: 'notice'; readonly notice: Notice }
  | { readonly kind: 'held'; readonly held: HeldBan }
  | { readonly kind: 'sent'; readonly sent: SentMail };

/** How many records of each kind were carried. */
export interface RecordCounts {
  bans: number;
  history: number;
  notices: number;
  held: number;
  sent: number;
}

export function emptyCounts(): RecordCounts {
  return { bans: 0, history: 0, notices: 0, held: 0, sent: 0 };
}
