// Bounded request bodies and JSON/text answers for the admin API; errors become one JSON shape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, FleetbanError, httpStatusOf } from '../core/errors.js';

/** Past this many bytes an oversized body is no longer drained politely: the socket is cut. */
const DRAIN_LIMIT_FACTOR = 16;

/**
 * Reads a JSON object body of at most `limit` bytes. An oversized body is drained (so the client
 * reads the 413 instead of a reset) up to 16 × limit, then the connection is destroyed.
 * An empty body reads as `{}`.
 */
export async function readJsonObject(
  req: IncomingMessage,
  limit: number,
): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, 'request body is not valid JSON', {
      cause: e,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new FleetbanError(ErrorCode.REQUEST_TOO_LARGE, `request body exceeds ${limit} bytes`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        if (size > limit * DRAIN_LIMIT_FACTOR) {
          req.destroy();
          reject(tooLarge());
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) reject(tooLarge());
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  status: number,
  contentType: string,
  text: string,
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/**
 * The one error body of fleetban's HTTP APIs (admin and agent): `{ "error": { "code", "message" } }`.
 * A response already under way (a stream) cannot carry it: the connection is cut instead.
 */
export function sendError(
  res: ServerResponse,
  error: FleetbanError,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(
    res,
    httpStatusOf[error.code],
    { error: { code: error.code, message: error.message } },
    headers,
  );
}
