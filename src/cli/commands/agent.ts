// `fleetban agent`: runs the enforcement agent in the foreground until SIGTERM/SIGINT.
import { systemClock } from '../../core/clock.js';
import { stringOption, type Command } from '../command.js';
import { runInForeground } from '../foreground.js';

export const agentCommand: Command = {
  name: 'agent',
  summary: "keep this machine's nftables sets in step with the central bans",
  usage: 'agent [--config FILE]',
  description:
    'Without --config, reads FLEETBAN_AGENT_CONFIG, else /etc/fleetban/agent.json. Needs CAP_NET_ADMIN.\n' +
    'Bans stay in the kernel (with their timeouts) when the agent or the server stops.',
  options: {
    config: { type: 'string', value: 'FILE', help: 'agent configuration file (JSON or YAML)' },
  },
  positionals: { names: [], required: 0 },
  async run({ values, io }) {
    // Loaded here, not at the top, so that other commands start fast.
    const [{ Agent }, { loadAgentConfig }, { createLogger }] = await Promise.all([
      import('../../agent/agent.js'),
      import('../../agent/config.js'),
      import('../../log/logger.js'),
    ]);
    const config = loadAgentConfig({ file: stringOption(values, 'config'), env: io.env });
    const logger = createLogger(config.log.level).child({ component: 'agent' });
    const agent = new Agent({ config, logger, clock: systemClock });
    return runInForeground(agent, {
      name: 'agent',
      logger,
      io,
      stopDetails: () => ({ counters: agent.metrics.snapshot() }),
      // Without a handler Node would exit on SIGHUP and take the agent down with a terminal.
      onHangup: () => {
        logger.warn(
          'SIGHUP ignored: the agent reads its configuration at start; restart it to apply changes',
        );
      },
    });
  },
};
