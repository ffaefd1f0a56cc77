// The agent stream protocol shared by server and agent: message types, NDJSON encoding and a chunk-safe line decoder.
import { StringDecoder } from 'node:string_decoder';

/** HTTP paths of the agent API. */
export const AgentApiPath = {
  STREAM: '/v1/agent/stream',
  NFTABLES: '/v1/nftables',
  BLOCKLIST: '/v1/blocklist.txt',
  /** POST: the agent's set size and last error, sent when a problem happens while connected. */
  REPORT: '/v1/agent/report',
} as const;

/** The JSON body of `POST /v1/agent/report`; the stream request carries the same on connecting. */
export interface AgentStatusBody {
  /** Elements in the agent's nftables sets. */
  readonly size: number;
  /** Its last problem, cut to MAX_AGENT_ERROR; null: none yet. */
  readonly error: string | null;
  /** When that happened, epoch ms; null with no error. */
  readonly errorAt: number | null;
}

/** Checks a report body; returns it, or what is wrong with it. */
export function decodeAgentStatus(v: Readonly<Record<string, unknown>>): AgentStatusBody | string {
  const { size, error, errorAt } = v;
  if (!isSeq(size)) return 'size must be a non-negative integer';
  if (error !== null && typeof error !== 'string') return 'error must be a string or null';
  if (errorAt !== null && !isSeq(errorAt)) return 'errorAt must be a non-negative integer or null';
  const text = error === null ? '' : clipAgentError(error);
  return text === ''
    ? { size, error: null, errorAt: null }
    : { size, error: text, errorAt: errorAt ?? null };
}

/** Query parameters the agent may send on the stream request. */
export const StreamQuery = {
  /** Last sequence number the agent applied; absent or 0 = send a snapshot. */
  SINCE: 'since',
  /** How many elements the agent's nftables sets hold (shown by `fleetban agents list`). */
  SIZE: 'size',
  /** The agent's last problem (nft refused a batch, a server unreachable…), cut to MAX_AGENT_ERROR. */
  ERROR: 'error',
  /** When that problem happened, epoch ms. */
  ERROR_AT: 'errorAt',
} as const;

/** Characters of the agent's last error sent on connecting; the rest is cut. */
export const MAX_AGENT_ERROR = 300;

/** Cuts an error message to what the stream request carries: one line, MAX_AGENT_ERROR characters. */
export function clipAgentError(message: string): string {
  const line = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length <= MAX_AGENT_ERROR ? line : `${line.slice(0, MAX_AGENT_ERROR - 1)}…`;
}

/** Query parameters of `GET /v1/blocklist.txt`: `family=4|6`, `jail=NAME`; absent = all. */
export const BlocklistQuery = { FAMILY: 'family', JAIL: 'jail' } as const;

/** `GET /v1/nftables?mode=…`: which chains the document hooks. Default `host`. */
export const NftMode = { HOST: 'host', GATEWAY: 'gateway', BOTH: 'both' } as const;
export type NftMode = (typeof NftMode)[keyof typeof NftMode];

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/** One active ban as agents see it: only what enforcement needs. */
export interface BanEntry {
  /** Canonical `198.51.100.7`, `198.51.100.0/24` or `2001:db8::/64`. */
  readonly target: string;
  readonly family: 4 | 6;
  /** Epoch ms when the ban ends; null = permanent. */
  readonly end: number | null;
  readonly jail: string;
}

export const StreamMessageType = {
  SNAPSHOT: 'snapshot',
  RESUME: 'resume',
  BAN: 'ban',
  UNBAN: 'unban',
  PING: 'ping',
} as const;
export type StreamMessageType = (typeof StreamMessageType)[keyof typeof StreamMessageType];

/** Full state as of `seq`: the agent replaces its set with `bans`. Always first when sent. */
export interface SnapshotMessage {
  readonly type: 'snapshot';
  readonly seq: number;
  readonly bans: readonly BanEntry[];
}

/** The agent's `since` is still in the feed: the missed changes follow, starting after `seq`. */
export interface ResumeMessage {
  readonly type: 'resume';
  readonly seq: number;
}

/** A ban was created or replaced (new end time): add or re-time the element. */
export interface BanMessage {
  readonly type: 'ban';
  readonly seq: number;
  readonly ban: BanEntry;
}

/** A ban was lifted (expired or manual): remove the element if present. */
export interface UnbanMessage {
  readonly type: 'unban';
  readonly seq: number;
  readonly target: string;
}

/** Keep-alive every `agents.pingInterval`; `seq` = last sequence sent on this stream. */
export interface PingMessage {
  readonly type: 'ping';
  readonly seq: number;
}

/**
 * Every line of the stream. Order on one connection: exactly one `snapshot` or `resume` first,
 * then `ban` / `unban` with strictly increasing `seq` (each greater than the first line's seq),
 * interleaved with `ping`. On reconnect the agent sends `since` = the last seq it applied.
 */
export type StreamMessage =
  SnapshotMessage | ResumeMessage | BanMessage | UnbanMessage | PingMessage;

/** One stream line: JSON followed by `\n`. */
export function encodeStreamMessage(message: StreamMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/** A line that is not a valid stream message is a value, never a throw. */
export interface DecodeError {
  readonly error: string;
  /** The offending line, cut to 200 characters for logs. */
  readonly line: string;
}

export type DecodeResult = StreamMessage | DecodeError;

export function isDecodeError(r: DecodeResult): r is DecodeError {
  return 'error' in r;
}

/** Parses and validates one line (without its newline). */
export function decodeStreamMessage(line: string): DecodeResult {
  const fail = (error: string): DecodeError => ({ error, line: line.slice(0, 200) });
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return fail('not JSON');
  }
  if (!isRecord(value)) return fail('not an object');
  const { type, seq } = value;
  if (!isSeq(seq)) return fail('missing or invalid seq');
  switch (type) {
    case 'snapshot': {
      const { bans } = value;
      if (!Array.isArray(bans)) return fail('snapshot without bans array');
      const entries: BanEntry[] = [];
      for (const b of bans) {
        const entry = toBanEntry(b);
        if (entry === null) return fail('snapshot with an invalid ban entry');
        entries.push(entry);
      }
      return { type, seq, bans: entries };
    }
    case 'resume':
    case 'ping':
      return { type, seq };
    case 'ban': {
      const entry = toBanEntry(value.ban);
      if (entry === null) return fail('ban with an invalid ban entry');
      return { type, seq, ban: entry };
    }
    case 'unban': {
      const { target } = value;
      if (typeof target !== 'string' || target === '') return fail('unban without target');
      return { type, seq, target };
    }
    default:
      return fail('unknown type');
  }
}

/**
 * Splits a byte stream into lines across arbitrary chunk boundaries (UTF-8 safe) and decodes each.
 * A line longer than `maxLineLength` characters is discarded up to its newline and reported once
 * as an error, so a broken peer cannot make the reader buffer without bound.
 */
export class NdjsonDecoder {
  readonly #text = new StringDecoder('utf8');
  readonly #maxLineLength: number;
  #buffer = '';
  #skipping = false;

  constructor(options: { readonly maxLineLength?: number } = {}) {
    // A snapshot of a million bans is one line of ~80 MB: the default leaves room for that.
    this.#maxLineLength = options.maxLineLength ?? 256 * 1024 * 1024;
  }

  /** Feeds a chunk; returns the messages (and errors) of every line it completed. */
  push(chunk: Buffer | string): DecodeResult[] {
    const text = typeof chunk === 'string' ? chunk : this.#text.write(chunk);
    const out: DecodeResult[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.#skipping) {
        this.#skipping = false;
        this.#buffer = '';
        continue;
      }
      const line = this.#buffer === '' ? piece : this.#buffer + piece;
      this.#buffer = '';
      const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (trimmed.trim() === '') continue;
      if (trimmed.length > this.#maxLineLength) {
        out.push({ error: 'line too long', line: trimmed.slice(0, 200) });
        continue;
      }
      out.push(decodeStreamMessage(trimmed));
    }
    if (!this.#skipping) {
      this.#buffer += text.slice(start);
      if (this.#buffer.length > this.#maxLineLength) {
        out.push({ error: 'line too long', line: this.#buffer.slice(0, 200) });
        this.#buffer = '';
        this.#skipping = true;
      }
    }
    return out;
  }

  /** Characters held for an incomplete line. */
  get pending(): number {
    return this.#buffer.length;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function toBanEntry(v: unknown): BanEntry | null {
  if (!isRecord(v)) return null;
  const { target, family, end, jail } = v;
  if (typeof target !== 'string' || target === '') return null;
  if (family !== 4 && family !== 6) return null;
  if (end !== null && !(typeof end === 'number' && Number.isFinite(end))) return null;
  if (typeof jail !== 'string') return null;
  return { target, family, end, jail };
}
