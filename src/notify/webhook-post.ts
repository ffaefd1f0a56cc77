// One webhook POST over node:http or node:https (with a private CA when the webhook names one): status code or a thrown error.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PostOptions {
  readonly headers: Readonly<Record<string, string>>;
  /** PEM of the CA(s) that sign the receiver's certificate; undefined = the system CAs. */
  readonly ca?: Buffer | undefined;
  /** Aborts the request (timeout, close): the promise rejects. */
  readonly signal: AbortSignal;
}

/**
 * POSTs `body` and resolves with the HTTP status once the answer is read to its end (the
 * connection can then be reused). Rejects on any network or TLS error, and on abort. Who retries:
 * the caller.
 */
export function postWebhook(url: string, body: string, o: PostOptions): Promise<number> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const payload = Buffer.from(body, 'utf8');
  return new Promise<number>((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...o.headers, 'content-length': String(payload.length) },
        signal: o.signal,
        ...(target.protocol === 'https:' && o.ca !== undefined ? { ca: o.ca } : {}),
      },
      (res: IncomingMessage) => {
        res.on('error', reject);
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
        res.resume();
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
