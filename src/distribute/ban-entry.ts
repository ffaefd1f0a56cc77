// Turns store values (Ban, Change) into the agent protocol's messages: the only place the mapping lives.
import type { Ban, Change } from '../core/types.js';
import type { BanEntry, BanMessage, UnbanMessage } from './protocol.js';

export function toBanEntry(ban: Ban): BanEntry {
  return { target: ban.target, family: ban.family, end: ban.end, jail: ban.jail };
}

export function changeMessage(change: Change): BanMessage | UnbanMessage {
  return change.kind === 'ban'
    ? { type: 'ban', seq: change.seq, ban: toBanEntry(change.ban) }
    : { type: 'unban', seq: change.seq, target: change.target };
}
