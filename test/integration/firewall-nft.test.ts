// The Firewall contract on real nft, inside a network namespace of its own.
import { systemClock } from '../../src/core/clock.js';
import { NftFirewall } from '../../src/nft/nft.js';
import { firewallContract } from '../unit/firewall-contract.js';
import { Netns, requireNetns, runId } from './agent-netns-fixture.js';

firewallContract('NftFirewall in a network namespace', async () => {
  await requireNetns();
  const netns = new Netns();
  const ns = await netns.add(`fbct-${runId()}`);
  return {
    firewall: new NftFirewall({
      nftPath: 'nft',
      timeoutMs: 30_000,
      prefix: ['ip', 'netns', 'exec', ns],
      clock: systemClock,
    }),
    clock: systemClock,
    cleanup: () => netns.cleanup(),
  };
});
