// The agent's optional local HTTP endpoint: GET /metrics in the Prometheus text format, nothing else.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOrFail } from '../core/listen.js';
import type { AgentMetrics } from './metrics.js';

export class MetricsServer {
  readonly #server: Server;

  constructor(metrics: AgentMetrics) {
    this.#server = createServer((req, res) => {
      if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(metrics.render());
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found: the agent serves GET /metrics only\n');
    });
  }

  /** Listens; resolves with the bound address (port 0 picks one). */
  async start(address: string, port: number): Promise<AddressInfo> {
    await listenOrFail(
      this.#server,
      { host: address, port },
      `cannot serve metrics on ${address}:${port}`,
    );
    return this.#server.address() as AddressInfo;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
  }
}
