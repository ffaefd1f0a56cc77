// POST /v1/agent/report: tells the server the agent's set size and last error while its stream is open.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AgentApiPath, type AgentStatusBody } from '../distribute/protocol.js';

export interface ReportOptions {
  /** The server base URL, the one whose stream is open. */
  readonly server: string;
  readonly token: string;
  /** PEM of the CA for https; undefined = the system CAs. */
  readonly ca?: string | Buffer | undefined;
  readonly body: AgentStatusBody;
  /** Abandon the request after this long. */
  readonly timeoutMs: number;
}

/**
 * Sends one report; resolves with the HTTP status (204 when taken; 404 from a server that
 * predates reports). Rejects on a network or TLS error or the timeout. Nobody retries: the next
 * problem, or the next connection (which carries the same in its query), tells the server again.
 */
export function sendReport(o: ReportOptions): Promise<number> {
  const url = new URL(AgentApiPath.REPORT, o.server);
  const payload = Buffer.from(JSON.stringify(o.body), 'utf8');
  const options = {
    method: 'POST',
    headers: {
      authorization: `Bearer ${o.token}`,
      'content-type': 'application/json',
      'content-length': String(payload.length),
    },
    signal: AbortSignal.timeout(o.timeoutMs),
  };
  return new Promise<number>((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      res.on('error', reject);
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
      res.resume();
    };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, o.ca === undefined ? options : { ...options, ca: o.ca }, onResponse)
        : httpRequest(url, options, onResponse);
    req.on('error', reject);
    req.end(payload);
  });
}
