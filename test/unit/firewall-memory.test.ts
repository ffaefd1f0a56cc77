// The Firewall contract on the in-memory model the agent's unit tests use.
import { systemClock } from '../../src/core/clock.js';
import { MemoryFirewall } from '../../src/nft/memory-firewall.js';
import { firewallContract } from './firewall-contract.js';

firewallContract('MemoryFirewall', () =>
  Promise.resolve({
    firewall: new MemoryFirewall(systemClock),
    clock: systemClock,
    cleanup: () => Promise.resolve(),
  }),
);
