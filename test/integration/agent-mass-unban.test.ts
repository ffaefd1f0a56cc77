// Real nft in a namespace: lifting 50,000 bans at once finishes, and a ban issued meanwhile is enforced within 2 s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { IpFamily } from '../../src/core/ip.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import { Enforcer } from '../../src/agent/enforcer.js';
import { Guard } from '../../src/agent/guard.js';
import { AgentCounter, AgentMetrics } from '../../src/agent/metrics.js';
import type { Firewall } from '../../src/nft/firewall.js';
import { NftFirewall } from '../../src/nft/nft.js';
import type { NftDocument } from '../../src/nft/render.js';
import { Netns, requireNetns, runId } from './agent-netns-fixture.js';

const netns = new Netns();
let ns = '';

before(async () => {
  await requireNetns();
  ns = await netns.add(`fbmu-${runId()}`);
});
after(() => netns.cleanup());

/** Real nft underneath; only records when each transaction was in the kernel, and what it held. */
class ObservedFirewall implements Firewall {
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

  list(family: IpFamily) {
    return this.#inner.list(family);
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

function v4(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

const BANS = 50_000;
const WAVE = 5_000;
const NEW_BAN = '203.0.113.77';

test('real nft: unban of 50,000 bans while a new ban arrives', async () => {
  const metrics = new AgentMetrics();
  const firewall = new ObservedFirewall(
    new NftFirewall({
      nftPath: 'nft',
      timeoutMs: 15_000,
      prefix: ['ip', 'netns', 'exec', ns],
      clock: systemClock,
    }),
  );
  const enforcer = new Enforcer({
    firewall,
    ruleset: { mode: 'host', verdict: 'drop', ports: [], interface: '' },
    clock: systemClock,
    logger: silentLogger,
    metrics,
    guard: new Guard({ 'own address': [], 'server address': [], allowlist: [] }),
    batchWindowMs: 20,
    batchMax: 5000,
    toleranceMs: 10_000,
  });
  try {
    const now = Date.now();
    const bans: BanEntry[] = [];
    for (let i = 0; i < BANS; i++)
      bans.push({ target: v4(i), family: 4, end: now + 3_600_000, jail: 't' });
    await enforcer.replaceAll(bans);
    assert.equal((await firewall.list(4))?.elements.size, BANS);

    // `unban --all` reaches the agent as one unban line per ban, read in waves off the stream;
    // a new ban comes while the first nft transaction of the unban is under way.
    let banAt = 0;
    firewall.onNextApply = () => {
      banAt = performance.now();
      enforcer.ban({ target: NEW_BAN, family: 4, end: Date.now() + 3_600_000, jail: 't' });
    };
    const t0 = performance.now();
    for (let i = 0; i < BANS; i++) {
      enforcer.unban(v4(i));
      if ((i + 1) % WAVE === 0) await new Promise((r) => setImmediate(r));
    }
    const enforcedAt = await firewall.waitFor(`"${NEW_BAN}"`, 20_000);
    const banMs = enforcedAt - banAt;
    await enforcer.flush();
    await enforcer.idle();
    const unbanMs = performance.now() - t0;
    const left = await firewall.list(4);
    console.log(
      `# mass unban: ${BANS} removed in ${unbanMs.toFixed(0)} ms, new ban enforced after ` +
        `${banMs.toFixed(0)} ms, ${metrics.get(AgentCounter.NFT_BATCHES) - 1} transactions`,
    );
    assert.deepEqual([...(left?.elements.keys() ?? [])], [NEW_BAN]);
    assert.ok(banMs < 2000, `the new ban took ${banMs.toFixed(0)} ms to be enforced`);
    assert.ok(unbanMs < 10_000, `the unban took ${unbanMs.toFixed(0)} ms`);
    assert.equal(metrics.get(AgentCounter.NFT_FAILURES), 0);
  } finally {
    enforcer.close();
  }
});
