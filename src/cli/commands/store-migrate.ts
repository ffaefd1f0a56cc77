// `fleetban store migrate`: moves the LevelDB store into the Redis named by store.redis, and checks nothing was lost.
import { flagOption, stringOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';

export const storeMigrateCommand: Command = {
  name: 'store migrate',
  summary:
    'copy the LevelDB ban store into Redis (bans, history, outbox, agents, feeds) and check it',
  usage: 'store migrate [--config FILE] [--force] [--json]',
  description:
    'Run it with the server stopped (LevelDB allows one process). It reads store.path and writes under store.redis.keyPrefix on store.redis.nodes or store.redis.address, refusing a key prefix that already holds a store unless --force. Then set store.backend to redis and start the servers. Exits 1 when the check finds a ban missing or different.',
  options: {
    config: { type: 'string', value: 'FILE', help: 'configuration file (JSON or YAML)' },
    force: { type: 'boolean', help: 'write over a store already under the key prefix' },
    json: { type: 'boolean', help: 'print the report as JSON' },
  },
  positionals: { names: [], required: 0 },
  async run({ values, io }) {
    const [{ loadConfig }, { migrateToRedis }, { silentLogger }] = await Promise.all([
      import('../../config/load.js'),
      import('../../server/store-migration.js'),
      import('../../core/logger.js'),
    ]);
    const config = loadConfig({ file: stringOption(values, 'config'), env: io.env });
    const report = await migrateToRedis(config, {
      force: flagOption(values, 'force'),
      logger: silentLogger,
    });
    const c = report.copied;
    const whole =
      report.mismatched === 0 &&
      report.found.bans === c.bans &&
      report.found.history === c.history &&
      report.found.notices === c.notices;
    if (flagOption(values, 'json')) io.stdout(toJson({ ...report, ok: whole }));
    else
      io.stdout(
        `copied ${report.from} into ${report.to} under key prefix ${report.keyPrefix}:\n` +
          `  ${c.bans} bans, ${c.history} attacker histories, ${c.notices} pending notices, ${c.held} held bans, ${c.sent} sent-mail records, ${c.agents} agents, ${c.feeds} feed tokens\n` +
          `  the feed goes on after sequence number ${report.lastSeq} (agents resync once)\n` +
          (whole
            ? `checked: Redis holds every ban with the same fields, and as many histories and notices\n` +
              'next: set store.backend to "redis" in every server\'s configuration and start them\n'
            : `CHECK FAILED: Redis holds ${report.found.bans} bans (${report.mismatched} missing or different), ${report.found.history} histories, ${report.found.notices} notices\n`),
      );
    return whole ? ExitCode.OK : ExitCode.FAILED;
  },
};
