// The values that flow through the pipeline, one readonly type per stage:
// RawMessage → SyslogEvent → Failure → BanRequest → Ban.
import type { EpochMs } from './clock.js';
import type { Cidr } from './ip.js';

export const Transport = {
  UDP: 'udp',
  TCP: 'tcp',
  TLS: 'tls',
  RELP: 'relp',
  JOURNAL: 'journal',
} as const;
export type Transport = (typeof Transport)[keyof typeof Transport];
/** Every transport, in the order reports list them. */
export const TRANSPORTS: readonly Transport[] = Object.values(Transport);

/** What a jail may be called (jails.d keys), and so what a `jail=` filter may name. */
export const JAIL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Who sent a message: the socket peer, as ingest saw it. */
export interface Sender {
  /** Canonical peer address (IPv4-mapped IPv6 reported as IPv4). */
  readonly address: string;
  readonly transport: Transport;
}

/** Which wire format the parser recognised. `bare` = no PRI, taken as plain text. */
export const SyslogFormat = { RFC5424: 'rfc5424', RFC3164: 'rfc3164', BARE: 'bare' } as const;
export type SyslogFormat = (typeof SyslogFormat)[keyof typeof SyslogFormat];

/** One syslog message after parsing. */
export interface SyslogEvent {
  readonly format: SyslogFormat;
  /** 0-23, or -1 when the message had no PRI. */
  readonly facility: number;
  /** 0-7, or -1 when the message had no PRI. */
  readonly severity: number;
  /** Event time: the message's own time when plausible, else the receive time. */
  readonly time: EpochMs;
  readonly receivedAt: EpochMs;
  /** HOSTNAME field (or the host a relay names), or the sender address when the message has none. */
  readonly hostname: string;
  /** Socket peer address. */
  readonly peer: string;
  /** APP-NAME / TAG without the pid; '' when absent. */
  readonly program: string;
  /** PROCID / [pid]; '' when absent. */
  readonly pid: string;
  /** MSG, without the BOM and trailing newline. */
  readonly message: string;
}

/**
 * A message whose sender wrote its parts as separate fields (a systemd journal entry), so there
 * is no header text to parse. The transport has already checked the header parts as an RFC 5424
 * header's would be (printable US-ASCII, no spaces, bounded length): what it could not trust is ''.
 */
export interface FieldMessage {
  /** 0-23. */
  readonly facility: number;
  /** 0-7. */
  readonly severity: number;
  /** The message's own time, epoch ms, or NaN when it has none. */
  readonly ownTime: number;
  /** '' when absent or untrusted: the peer address stands for it. */
  readonly hostname: string;
  /** '' when absent or untrusted. */
  readonly program: string;
  /** '' when absent or untrusted. */
  readonly pid: string;
  /** As decoded, before trimming. */
  readonly message: string;
}

/** A parse failure is a value: counted, logged at debug, skipped. */
export interface ParseError {
  readonly reason: string;
}

/** One line that a jail's filter matched. */
export interface Failure {
  readonly jail: string;
  /** Canonical attacker address. */
  readonly attacker: string;
  readonly time: EpochMs;
  /** The reporting host (SyslogEvent.hostname). */
  readonly host: string;
  /** The socket peer that delivered the line (SyslogEvent.peer): who the ban brake charges. */
  readonly sender: string;
  /** User name from <F-USER>, '' when the filter has none. */
  readonly user: string;
  /** The matched message text. */
  readonly line: string;
}

/** What the jails ask the ban manager for once an attacker crosses maxretry. */
export interface BanRequest {
  readonly jail: string;
  /** The attacker's own address. */
  readonly attacker: string;
  /** The prefix to ban (banmask applied). */
  readonly target: Cidr;
  readonly time: EpochMs;
  readonly failures: number;
  /** Failures per reporting host. */
  readonly hosts: Readonly<Record<string, number>>;
  /** Failures per sender peer address: the senders the ban is attributed to (ban brake). */
  readonly senders: Readonly<Record<string, number>>;
  /** Matched lines, oldest first, capped. */
  readonly lines: readonly string[];
  /**
   * Replace an active ban of the same target when this one ends later (a repeat offender's
   * longer ban, from a jail that counts bans). Absent: an active target is left as it is.
   */
  readonly replace?: boolean;
}

/**
 * A jail's ban the brake held back instead of writing (a sender or the fleet went past its
 * bans-per-minute budget). It waits for an admin's `fleetban release` or `fleetban discard`.
 */
export interface HeldBan {
  /** Canonical target text (formatCidr): the key, one held entry per target. */
  readonly target: string;
  readonly request: BanRequest;
  readonly heldAt: EpochMs;
  /** Which budget was exhausted: the sender's own, or the fleet-wide one. */
  readonly reason: 'sender' | 'fleet';
}

export const BanOrigin = { JAIL: 'jail', MANUAL: 'manual' } as const;
export type BanOrigin = (typeof BanOrigin)[keyof typeof BanOrigin];

/**
 * An active ban as the store keeps it in memory: the source of truth for agents, CLI and expiry.
 * The bulky evidence (per-host counts, matched lines) lives apart in `BanDetails`, so a million
 * active bans load fast and stay small.
 */
export interface Ban {
  /** Canonical target text: `198.51.100.7` or `198.51.100.0/24` (formatCidr). The store key. */
  readonly target: string;
  readonly family: 4 | 6;
  readonly jail: string;
  readonly origin: BanOrigin;
  /** The address that triggered the ban ('' for manual bans of a prefix). */
  readonly attacker: string;
  readonly start: EpochMs;
  /** End time, or null for a permanent ban. */
  readonly end: EpochMs | null;
  /** 1 for a first offence, n for the n-th ban of this attacker (bantime.increment). */
  readonly banCount: number;
  readonly failures: number;
  readonly reason: string;
  /** Change-feed sequence number of the change that created this ban. */
  readonly seq: number;
}

/** The evidence behind a ban, for mail and `fleetban bans`: stored beside it, read on demand. */
export interface BanDetails {
  /** Failures per reporting host. */
  readonly hosts: Readonly<Record<string, number>>;
  /** Matched lines, oldest first, capped by the caller. */
  readonly lines: readonly string[];
}

/** A ban together with its evidence: what a ban is written with, and what writing it returns. */
export type DetailedBan = Ban & BanDetails;

export const ChangeKind = { BAN: 'ban', UNBAN: 'unban' } as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** One entry of the ordered change feed that agents follow. */
export type Change =
  | { readonly seq: number; readonly kind: 'ban'; readonly ban: Ban }
  | {
      readonly seq: number;
      readonly kind: 'unban';
      readonly target: string;
      readonly jail: string;
      readonly at: EpochMs;
      /** 'expired', 'manual', … */
      readonly reason: string;
    };

/** What the store remembers of an attacker across bans (bantime.increment, recidive). */
export interface AttackerHistory {
  readonly attacker: string;
  /** Number of bans so far, over all jails. */
  readonly bans: number;
  /** Bans per jail. */
  readonly perJail: Readonly<Record<string, number>>;
  readonly lastBanAt: EpochMs;
  /** Length of the last ban in seconds, null if it was permanent. */
  readonly lastBantime: number | null;
}

/**
 * One event worth a mail, as the store's outbox keeps it and the mailer reads it. `id` is the
 * sequence number of the change it reports (unique, ordered, stable across restarts: mail
 * Message-IDs are derived from it); `at` is when it happened.
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
