// `fleetban server`: runs the central server in the foreground until SIGTERM/SIGINT; SIGHUP reloads.
import { systemClock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import { stringOption, type Command } from '../command.js';
import { runInForeground } from '../foreground.js';

export const serverCommand: Command = {
  name: 'server',
  summary: 'run the central ban server in the foreground',
  usage: 'server [--config FILE] [--ready-file FILE]',
  description:
    'Without --config, reads FLEETBAN_CONFIG, else /etc/fleetban/fleetban.json if present, else the built-in\n' +
    'defaults (syslog on 127.0.0.1:5514 UDP and TCP, store in ./var/lib/fleetban). SIGHUP reloads;\n' +
    'SIGTERM and SIGINT stop after draining ingest and flushing the store.',
  options: {
    config: { type: 'string', value: 'FILE', help: 'configuration file (JSON or YAML)' },
    'ready-file': {
      type: 'string',
      value: 'FILE',
      help: 'write the listening addresses here as JSON once serving',
    },
  },
  positionals: { names: [], required: 0 },
  async run({ values, io }) {
    // Loaded here, not at the top: every other command would pay for the whole server at start-up.
    const [{ loadConfig }, { createLogger }, { FleetbanServer }] = await Promise.all([
      import('../../config/load.js'),
      import('../../log/logger.js'),
      import('../../server/server.js'),
    ]);
    const file = stringOption(values, 'config');
    const config = loadConfig({ file, env: process.env });
    const logger = createLogger(config.log.level);
    const server = new FleetbanServer({
      config,
      logger,
      clock: systemClock,
      reloadConfig: () => loadConfig({ file: config.file ?? undefined, env: process.env }),
      readyFile: stringOption(values, 'ready-file') ?? '',
    });
    return runInForeground(server, {
      name: 'server',
      logger,
      io,
      onHangup: () => {
        try {
          server.reload();
        } catch (e) {
          logger.error(
            { err: e },
            `reload refused, the running configuration is unchanged: ${describeError(e)}`,
          );
        }
      },
    });
  },
};
