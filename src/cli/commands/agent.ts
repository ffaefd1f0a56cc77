// `fleetban agent`: runs the enforcement agent in the foreground until SIGTERM/SIGINT.
import { systemClock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { stringOption, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

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
    try {
      await agent.start();
    } catch (e) {
      logger.error({ err: e }, `cannot start: ${describeError(e)}`);
      await agent.close().catch(() => undefined);
      io.stderr(`fleetban agent: ${describeError(e)}\n`);
      return ExitCode.FAILED;
    }
    return new Promise<number>((resolve) => {
      const stop = (signal: string): void => {
        logger.info({ signal, counters: agent.metrics.snapshot() }, 'stopping');
        agent.close().then(
          () => {
            resolve(ExitCode.OK);
          },
          (e: unknown) => {
            logger.error({ err: e }, `error while stopping: ${describeError(e)}`);
            resolve(ExitCode.FAILED);
          },
        );
      };
      process.once('SIGTERM', () => {
        stop('SIGTERM');
      });
      process.once('SIGINT', () => {
        stop('SIGINT');
      });
    });
  },
};
