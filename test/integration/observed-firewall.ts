// A firewall wrapper for tests on real nft: records when each transaction was in the kernel, and what it held.
import type { BanSet } from '../../src/nft/element.js';
import type { Firewall } from '../../src/nft/firewall.js';
import type { NftDocument } from '../../src/nft/render.js';

/** Real nft underneath; only records when each transaction was in the kernel, and what it held. */
export class ObservedFirewall implements Firewall {
  readonly applied: { readonly at: number; readonly text: string }[] = [];
  /** Called once, as the next transaction is handed to nft. */
  onNextApply: (() => void) | undefined;
  readonly #inner: Firewall;
  readonly #waiters = new Set<() => void>();

  constructor(inner: Firewall) {
    this.#inner = inner;
  }

  async apply(doc: NftDocument): Promise<void> {
    const hook = this.onNextApply;
    this.onNextApply = undefined;
    hook?.();
    await this.#inner.apply(doc);
    this.applied.push({ at: performance.now(), text: JSON.stringify(doc) });
    for (const w of this.#waiters) w();
  }

  list(set: BanSet) {
    return this.#inner.list(set);
  }

  /** When the first applied transaction containing `text` was in the kernel. */
  waitFor(text: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = this.applied.find((a) => a.text.includes(text));
        if (hit === undefined) return;
        done();
        resolve(hit.at);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no nft transaction with ${text} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }
}
