// One connection to the server's agent stream: HTTP(S) GET, NDJSON lines in, an idle deadline, one end result.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  AgentApiPath,
  clipAgentError,
  NdjsonDecoder,
  StreamQuery,
  isDecodeError,
  type DecodeError,
  type StreamMessage,
} from '../distribute/protocol.js';

export interface StreamOptions {
  /** The server base URL (`https://fleetban.example.net:5515`). */
  readonly server: string;
  readonly token: string;
  /** PEM of the CA for https; undefined = the system CAs. */
  readonly ca?: string | Buffer | undefined;
  /** Last sequence applied; 0 asks for a snapshot. */
  readonly since: number;
  /** Elements in the agent's sets, reported to the server for `fleetban agents list`. */
  readonly size: number;
  /** The agent's last problem and when, reported to the server for `fleetban agents list`. */
  readonly lastError?: { readonly message: string; readonly at: number } | null;
  /** With nothing received for this long, the connection is dropped as dead. */
  readonly idleTimeoutMs: number;
  /** Called once the server answered 200. */
  readonly onOpen: () => void;
  /** Called for each message, in order. Must not throw. */
  readonly onMessage: (message: StreamMessage) => void;
  readonly onBadLine: (error: DecodeError) => void;
}

/** How a stream ended: the agent decides from this whether and how soon to reconnect. */
export type StreamEnd =
  | {
      readonly kind: 'refused';
      readonly status: number;
      readonly body: string;
      /** The server's Retry-After (a 429 to a source with too many failed tokens); null = none. */
      readonly retryAfterMs: number | null;
    }
  | { readonly kind: 'failed'; readonly error: Error }
  | { readonly kind: 'ended' }
  | { readonly kind: 'idle' }
  | { readonly kind: 'closed' };

export interface StreamHandle {
  /** Resolves once, when the stream is over for any reason. Never rejects. */
  readonly done: Promise<StreamEnd>;
  /** Ends the stream from this side; `done` resolves with `closed`. */
  close(): void;
}

/** Opens the stream. Who retries: the caller, after `done` resolves. */
export function openStream(options: StreamOptions): StreamHandle {
  const url = new URL(AgentApiPath.STREAM, options.server);
  url.searchParams.set(StreamQuery.SINCE, String(options.since));
  url.searchParams.set(StreamQuery.SIZE, String(options.size));
  if (options.lastError != null) {
    url.searchParams.set(StreamQuery.ERROR, clipAgentError(options.lastError.message));
    url.searchParams.set(StreamQuery.ERROR_AT, String(options.lastError.at));
  }
  const headers = { authorization: `Bearer ${options.token}`, accept: 'application/x-ndjson' };
  let finish: (end: StreamEnd) => void = () => undefined;
  let finished = false;
  let idle: NodeJS.Timeout | undefined;
  const done = new Promise<StreamEnd>((resolve) => {
    finish = (end) => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      req.destroy();
      resolve(end);
    };
  });
  const armIdle = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      finish({ kind: 'idle' });
    }, options.idleTimeoutMs);
  };
  const onResponse = (res: IncomingMessage): void => {
    if (res.statusCode !== 200) {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 2000) body += c;
      });
      res.on('end', () => {
        finish({
          kind: 'refused',
          status: res.statusCode ?? 0,
          body: body.slice(0, 500),
          retryAfterMs: retryAfterMs(res.headers['retry-after']),
        });
      });
      res.on('error', () => {
        finish({
          kind: 'refused',
          status: res.statusCode ?? 0,
          body,
          retryAfterMs: retryAfterMs(res.headers['retry-after']),
        });
      });
      return;
    }
    options.onOpen();
    armIdle();
    const decoder = new NdjsonDecoder();
    res.on('data', (chunk: Buffer) => {
      armIdle();
      for (const result of decoder.push(chunk)) {
        if (finished) return;
        if (isDecodeError(result)) options.onBadLine(result);
        else options.onMessage(result);
      }
    });
    res.on('end', () => {
      finish({ kind: 'ended' });
    });
    res.on('error', (error) => {
      finish({ kind: 'failed', error });
    });
    res.on('close', () => {
      finish({ kind: 'ended' });
    });
  };
  const requestOptions = { method: 'GET', headers };
  const req: ClientRequest =
    url.protocol === 'https:'
      ? httpsRequest(
          url,
          options.ca === undefined ? requestOptions : { ...requestOptions, ca: options.ca },
          onResponse,
        )
      : httpRequest(url, requestOptions, onResponse);
  req.on('error', (error) => {
    finish({ kind: 'failed', error });
  });
  // Connecting counts as waiting too: a black-holed server must not hang the agent.
  armIdle();
  req.end();
  return {
    done,
    close: () => {
      finish({ kind: 'closed' });
    },
  };
}

/** Retry-After in seconds (the only form fleetban sends), capped at an hour; null when absent or a date. */
function retryAfterMs(header: string | undefined): number | null {
  if (header === undefined || !/^\d{1,7}$/.test(header.trim())) return null;
  return Math.min(Number(header.trim()), 3600) * 1000;
}
