// `fleetban agent`: runs the enforcement agent in the foreground until SIGTERM/SIGINT; SIGHUP reloads.
import { systemClock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { stringOption, type Command } from '../command.js';
import { runInForeground } from '../foreground.js';

export const agentCommand: Command = {
  name: 'agent',
  summary: "keep this machine's nftables sets in step with the central bans",
  usage: 'agent [--config FILE]',
  description:
    'Without --config, reads FLEETBAN_AGENT_CONFIG, else /etc/fleetban/agent.json. Needs CAP_NET_ADMIN.\n' +
    'Bans stay in the kernel (with their timeouts) when the agent or the server stops. SIGHUP\n' +
    'reloads mode, hooks, verdict, ports, udpPorts, interface and allow without a gap in\n' +
    'enforcement; a bad configuration is refused and the old one keeps running.',
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
    const load = () => loadAgentConfig({ file: stringOption(values, 'config'), env: io.env });
    const config = load();
    const logger = createLogger(config.log.level).child({ component: 'agent' });
    const agent = new Agent({ config, logger, clock: systemClock });
    let reloading = Promise.resolve();
    return runInForeground(agent, {
      name: 'agent',
      logger,
      io,
      stopDetails: () => ({ counters: agent.metrics.snapshot() }),
      // One reload at a time, in order: a second SIGHUP waits for the first.
      onHangup: () => {
        reloading = reloading.then(async () => {
          let next;
          try {
            next = load();
          } catch (e) {
            logger.error(
              { err: describeError(e) },
              `reload refused, the running configuration stays: ${describeError(e)}`,
            );
            return;
          }
          await agent.reload(next).catch((e: unknown) => {
            logger.error({ err: describeError(e) }, `reload failed: ${describeError(e)}`);
          });
        });
      },
    });
  },
};
