// A minimal agent-side stream reader for the agent API tests: real HTTP, NDJSON decoded with the shared protocol code.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import {
  isDecodeError,
  NdjsonDecoder,
  type DecodeError,
  type StreamMessage,
} from '../../src/distribute/protocol.js';
import type { NewBan } from '../../src/store/store.js';

/** The tests' clock start. */
export const T0 = Date.UTC(2026, 0, 1);

/** A jail ban starting at T0, lasting `minutes` (null: permanent). */
export function testBan(target: string, jail = 'sshd', minutes: number | null = 10): NewBan {
  return {
    target,
    family: target.includes(':') ? 6 : 4,
    jail,
    origin: 'jail',
    attacker: '',
    start: T0,
    end: minutes === null ? null : T0 + minutes * 60_000,
    banCount: 1,
    failures: 5,
    hosts: {},
    lines: [],
    reason: 'test',
  };
}

export interface StreamTarget {
  readonly port: number;
  readonly token: string;
  readonly since?: number;
  readonly size?: number;
  /** Extra query parameters (`error`, `errorAt`) as an agent sends them. */
  readonly query?: Readonly<Record<string, string>>;
}

interface Waiter {
  readonly pred: (m: StreamMessage) => boolean;
  readonly resolve: (m: StreamMessage) => void;
}

/** An open stream: messages as they arrive, and how it ended. */
export class StreamReader {
  readonly messages: StreamMessage[] = [];
  readonly errors: DecodeError[] = [];
  readonly req: ClientRequest;
  readonly res: IncomingMessage;
  /** Resolves when the server ends or cuts the stream. */
  readonly closed: Promise<void>;
  #waiters: Waiter[] = [];

  constructor(req: ClientRequest, res: IncomingMessage) {
    this.req = req;
    this.res = res;
    const decoder = new NdjsonDecoder();
    res.on('data', (chunk: Buffer) => {
      for (const r of decoder.push(chunk)) {
        if (isDecodeError(r)) this.errors.push(r);
        else this.#deliver(r);
      }
    });
    this.closed = new Promise((resolve) => {
      res.once('close', resolve);
      res.once('error', () => {
        resolve();
      });
    });
  }

  /** The first message (already received or still to come) that `pred` accepts. */
  waitFor(pred: (m: StreamMessage) => boolean): Promise<StreamMessage> {
    const hit = this.messages.find(pred);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }

  /** Seq of the last ban/unban/snapshot/resume line: what an agent would reconnect with. */
  lastSeq(): number {
    let seq = 0;
    for (const m of this.messages) if (m.type !== 'ping') seq = m.seq;
    return seq;
  }

  close(): void {
    this.req.destroy();
  }

  #deliver(m: StreamMessage): void {
    this.messages.push(m);
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.pred(m)) w.resolve(m);
      else still.push(w);
    }
    this.#waiters = still;
  }
}

/** GETs a path with the token; resolves with the response once its headers are in. */
export function get(
  port: number,
  path: string,
  token: string | null,
): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> =
      token === null ? {} : { authorization: `Bearer ${token}` };
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      resolve({ req, res });
    });
    req.on('error', reject);
    req.end();
  });
}

export async function openStream(t: StreamTarget): Promise<StreamReader> {
  const q = new URLSearchParams();
  if (t.since !== undefined) q.set('since', String(t.since));
  if (t.size !== undefined) q.set('size', String(t.size));
  for (const [k, v] of Object.entries(t.query ?? {})) q.set(k, v);
  const qs = q.size > 0 ? `?${q.toString()}` : '';
  const { req, res } = await get(t.port, `/v1/agent/stream${qs}`, t.token);
  if (res.statusCode !== 200) {
    res.resume();
    throw new Error(`stream answered HTTP ${res.statusCode ?? 0}`);
  }
  return new StreamReader(req, res);
}

/** Reads a whole response body as text. */
export function bodyOf(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', reject);
  });
}
