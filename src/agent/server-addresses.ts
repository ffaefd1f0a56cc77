// The addresses of every server the agent lists, so that no ban ever cuts it off from one of them.
import { lookup } from 'node:dns/promises';
import { describeError } from '../core/errors.js';
import { parseIp, type Cidr } from '../core/ip.js';
import type { Logger } from '../core/logger.js';

/** Host name → its addresses; injected for tests. */
export type Resolve = (host: string) => Promise<readonly string[]>;

const resolveAll: Resolve = async (host) =>
  (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Resolves each server's host name again on every `refresh()` (names move). A name that cannot
 * be resolved keeps the addresses it had, so a DNS outage never lifts a server's protection.
 */
export class ServerAddresses {
  readonly #hosts: readonly string[];
  readonly #logger: Logger;
  readonly #resolve: Resolve;
  readonly #known = new Map<string, readonly Cidr[]>();

  constructor(servers: readonly string[], logger: Logger, resolve: Resolve = resolveAll) {
    this.#hosts = [...new Set(servers.map((s) => new URL(s).hostname.replace(/^\[|\]$/g, '')))];
    this.#logger = logger;
    this.#resolve = resolve;
  }

  async refresh(): Promise<void> {
    await Promise.all(
      this.#hosts.map(async (host) => {
        const literal = parseIp(host);
        let addresses: readonly string[];
        if (literal !== null) addresses = [literal.text];
        else {
          try {
            addresses = await this.#resolve(host);
          } catch (e) {
            this.#logger.warn(
              { host, err: describeError(e) },
              `cannot resolve the server name ${host}`,
            );
            return;
          }
        }
        this.#known.set(
          host,
          addresses
            .map((a) => parseIp(a))
            .filter((ip) => ip !== null)
            .map((ip) => ({
              family: ip.family,
              address: ip.text,
              prefix: ip.family === 4 ? 32 : 128,
            })),
        );
      }),
    );
  }

  /** Every address known for any listed server. */
  get cidrs(): Cidr[] {
    return [...this.#known.values()].flat();
  }
}
