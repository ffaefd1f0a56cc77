// import-fail2ban on Debian's stock /etc/fail2ban plus a jail.local: the files it writes load as fleetban jails and run.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import { loadJails } from '../../src/config/jails-dir.js';
import { loadConfig } from '../../src/config/load.js';
import { importFail2ban } from '../../src/fail2ban/import.js';
import { importFail2banCommand } from '../../src/cli/commands/import-fail2ban.js';
import { JailEngine } from '../../src/jails/engine.js';

const STOCK = '/etc/fail2ban';

test('stock fail2ban + jail.local → fleetban jails that load and run', async () => {
  assert.ok(
    existsSync(`${STOCK}/jail.conf`),
    `${STOCK}/jail.conf is missing: apt-get install fail2ban (or npm run test:all as root)`,
  );
  const root = mkdtempSync(join(tmpdir(), 'fleetban-f2b-import-'));
  try {
    const dir = join(root, 'fail2ban');
    cpSync(STOCK, dir, { recursive: true });
    writeFileSync(
      join(dir, 'jail.local'),
      '[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 gateway.example.org\nbantime.increment = true\nbantime.factor = 2\n\n' +
        '[sshd]\nenabled = true\nmode = aggressive\nmaxretry = 3\n\n[postfix]\nenabled = true\nbantime = 1h\n\n[dovecot]\nenabled = true\nfindtime = 30m\n',
    );
    const result = importFail2ban(dir);
    assert.deepEqual(result.skipped, []);
    const sshd = result.jails['sshd'] ?? {};
    assert.deepEqual(Object.keys(result.jails).sort(), ['dovecot', 'postfix', 'sshd']);
    assert.equal(sshd['maxretry'], 3);
    assert.equal(sshd['bantime.increment'], true);
    assert.deepEqual(sshd['ignoreip'], ['127.0.0.1/8', '::1']);
    assert.ok(
      result.notes.some(
        (n) => n.key === 'ignoreip' && n.value === 'gateway.example.org' && n.outcome === 'dropped',
      ),
    );
    assert.ok(
      result.notes.some((n) => n.jail === 'sshd' && n.key === 'logpath' && n.outcome === 'dropped'),
    );
    assert.ok(
      result.notes.some(
        (n) => n.jail === 'DEFAULT' && n.key === 'banaction' && n.outcome === 'dropped',
      ),
    );
    assert.match(String(sshd['filter']), /^(?:fail2ban:)?sshd\[mode=aggressive\]$/);

    // Through the command, as an admin runs it.
    const jailsDir = join(root, 'jails.d');
    let printed = '';
    const io = {
      stdout: (t: string) => (printed += t),
      stderr: () => undefined,
      env: {},
      clock: new ManualClock(),
    };
    const code = await importFail2banCommand.run({
      values: { out: jailsDir },
      positionals: [dir],
      io,
      client: () => Promise.reject(new Error('no server')),
    });
    assert.equal(code, 0);
    assert.match(printed, /wrote 3 jail file/);
    assert.equal(readdirSync(jailsDir).length, 3);

    const configFile = join(root, 'fleetban.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        jails: { dir: jailsDir, fail2banDir: dir },
        store: { path: join(root, 'store') },
      }),
    );
    const config = loadConfig({ file: configFile, env: {} });
    const jails = loadJails(config);
    assert.deepEqual(jails.map((j) => j.name).sort(), ['dovecot', 'postfix', 'sshd']);
    assert.equal(jails.find((j) => j.name === 'postfix')?.bantime, 3600);
    assert.equal(jails.find((j) => j.name === 'dovecot')?.findtime, 1800);
    const bans: string[] = [];
    const engine = new JailEngine({
      jails,
      ignore: new CidrSet(),
      maxTrackedAttackers: 100,
      clock: new ManualClock(),
      onBan: (r) => bans.push(r.attacker),
    });
    const t = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 3; i++) {
      engine.process({
        format: 'rfc3164',
        facility: 4,
        severity: 6,
        time: t + i,
        receivedAt: t + i,
        hostname: `web${i}`,
        peer: '10.0.0.1',
        program: 'sshd',
        pid: String(100 + i),
        message: 'Failed password for root from 203.0.113.9 port 22 ssh2',
      });
    }
    assert.deepEqual(bans, ['203.0.113.9']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
