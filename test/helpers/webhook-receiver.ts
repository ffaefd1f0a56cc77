// A real HTTP or HTTPS receiver for webhook tests, on a port of the kernel's choosing (or a given one, to come back on it).
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** PEM certificate and key: the receiver then speaks HTTPS. */
export interface ReceiverTls {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** A real HTTP(S) receiver on a port of the kernel's choosing; answers `status` (a queue, then 200). */
export class WebhookReceiver {
  readonly got: Received[] = [];
  readonly statuses: number[] = [];
  port = 0;
  readonly #tls: ReceiverTls | undefined;
  #server: Server | null = null;

  constructor(tls?: ReceiverTls) {
    this.#tls = tls;
  }

  async listen(port = 0): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = this.statuses.shift() ?? 200;
        if (status < 300)
          this.got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(status).end();
      });
    };
    const server: Server =
      this.#tls === undefined ? createServer(handler) : createHttpsServer(this.#tls, handler);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  get url(): string {
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.port}/hook`;
  }

  async close(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) =>
      s.close(() => {
        resolve();
      }),
    );
  }
}
