// `fleetban config check`: validates the configuration and every jail file without starting anything.
import { flagOption, stringOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatBantime, plural } from '../format.js';

export const configCheckCommand: Command = {
  name: 'config check',
  summary: 'check the configuration and jail files; print what would run',
  usage: 'config check [--config FILE] [--json]',
  options: {
    config: { type: 'string', value: 'FILE', help: 'configuration file (JSON or YAML)' },
    json: { type: 'boolean', help: 'print the resolved configuration (secrets redacted) as JSON' },
  },
  positionals: { names: [], required: 0 },
  async run({ values, io }) {
    // Loaded here, not at the top, so that other commands start fast.
    const [{ loadJails }, { loadConfig, redactedConfig }] = await Promise.all([
      import('../../config/jails-dir.js'),
      import('../../config/load.js'),
    ]);
    const config = loadConfig({ file: stringOption(values, 'config'), env: io.env });
    const jails = loadJails(config);
    if (flagOption(values, 'json')) {
      io.stdout(
        toJson({
          config: redactedConfig(config),
          jails: jails.map((j) => ({
            ...j,
            ignoreip: j.ignoreip.map((c) => `${c.address}/${c.prefix}`),
          })),
        }),
      );
      return ExitCode.OK;
    }
    const enabled = jails.filter((j) => j.enabled);
    io.stdout(`${config.file ?? 'built-in defaults'}: ok\n`);
    io.stdout(
      `jails in ${config.jails.dir}: ${plural(jails.length, 'jail')}, ${enabled.length} enabled\n`,
    );
    for (const j of jails) {
      io.stdout(
        `  ${j.name}${j.enabled ? '' : ' (disabled)'}: filter ${j.filter === '' ? '(inline)' : j.filter}${j.mode === '' ? '' : `[mode=${j.mode}]`}, ` +
          `maxretry ${j.maxretry}, findtime ${formatBantime(j.findtime)}, bantime ${formatBantime(j.bantime)}\n`,
      );
    }
    if (config.ingest.allowedSenders.length === 0) {
      io.stdout('warning: ingest.allowedSenders is empty: every sender can feed the jails\n');
    }
    return ExitCode.OK;
  },
};
