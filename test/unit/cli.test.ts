// The fleetban CLI's main() against a real admin server (fake facade): output, --json, exit codes, bad arguments.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, FleetbanError } from '../../src/core/errors.js';
import { AdminServer } from '../../src/control/admin-server.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { formatTime } from '../../src/cli/format.js';
import { main } from '../../src/cli/main.js';
import { FakePlane, recordingLogger } from '../integration/admin-fake-plane.js';

const TOKEN = 'cli-test-token-0123456789';
const MIN = 60_000;

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

describe('fleetban CLI', () => {
  let dir: string;
  let socket: string;
  let tcpPort: number;
  let clock: ManualClock;
  let plane: FakePlane;
  let server: AdminServer;

  const run = async (argv: string[], env: Record<string, string> = {}): Promise<Run> => {
    let out = '';
    let err = '';
    const code = await main(argv, {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env,
      clock,
    });
    return { code, out, err };
  };
  /** Runs a command against the test server's socket (given first, so the last option may lack its value). */
  const cli = (command: string, ...rest: string[]) => run([command, '--socket', socket, ...rest]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-cli-'));
    socket = join(dir, 'admin.sock');
    clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    plane = new FakePlane(clock);
    server = new AdminServer({
      plane,
      logger: recordingLogger().logger,
      socket,
      http: { address: '127.0.0.1', port: 0, token: TOKEN },
    });
    const bound = await server.start();
    tcpPort = bound.http?.port ?? 0;
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    plane.bansByTarget.clear();
    plane.nextReloadError = undefined;
    plane.seed({
      target: '203.0.113.7',
      jail: 'sshd',
      attacker: '203.0.113.7',
      start: clock.now() - 5 * MIN,
      end: clock.now() + 60 * MIN,
      failures: 5,
      hosts: { 'web-02': 2, 'web-01': 3 },
      banCount: 2,
    });
    plane.seed({
      target: '198.51.100.0/24',
      jail: 'recidive',
      attacker: '198.51.100.23',
      start: clock.now() - 120 * MIN,
      end: null,
      failures: 12,
      hosts: { 'mail-01': 12 },
    });
  });

  describe('status', () => {
    it('prints the server, ingest and a jail table', async () => {
      const r = await cli('status');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.match(r.out, /^fleetban 0\.1\.0-test, up 0s/);
      assert.match(
        r.out,
        /listening on udp 127\.0\.0\.1:5514 \(read with recvmmsg\), tcp \[::1\]:5514/,
      );
      assert.match(r.out, /1200 messages, 85\.0 KiB, 6 connections open/);
      assert.match(r.out, /^JAIL +STATE +FILTER +MAXRETRY/m);
      assert.match(r.out, /^sshd +enabled +sshd +5 +10m +1h +40 +38 +1 +0$/m);
      assert.match(r.out, /^recidive +enabled +recidive +3 +1d +permanent/m);
    });

    it('--json prints the report', async () => {
      const r = await cli('status', '--json');
      assert.equal(r.code, ExitCode.OK);
      assert.deepEqual(JSON.parse(r.out), JSON.parse(JSON.stringify(plane.status())));
    });

    it('status JAIL shows its counters and banned targets; an unknown jail exits 1', async () => {
      const r = await cli('status', 'sshd');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.match(r.out, /^jail sshd: enabled, filter sshd$/m);
      assert.match(r.out, /maxretry 5 within 10m, bantime 1h/);
      assert.match(r.out, /banned: 203\.0\.113\.7$/m);
      const json = JSON.parse((await cli('status', 'sshd', '--json')).out) as {
        jail: { name: string };
        bans: unknown[];
      };
      assert.equal(json.jail.name, 'sshd');
      assert.equal(json.bans.length, 1);
      const missing = await cli('status', 'nope');
      assert.equal(missing.code, ExitCode.FAILED);
      assert.equal(missing.err, 'fleetban status: no jail named nope\n');
    });
  });

  describe('bans', () => {
    it('prints aligned columns with hosts, since, ends and the ban count', async () => {
      const r = await cli('bans');
      assert.equal(r.code, ExitCode.OK, r.err);
      const lines = r.out.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^TARGET +JAIL +FAILURES +HOSTS +SINCE +ENDS +BAN#$/);
      // oldest first
      assert.ok(lines[1]?.startsWith('198.51.100.0/24  recidive'), lines[1]);
      assert.ok(lines[1]?.includes('mail-01:12'));
      assert.ok(lines[1]?.includes(`${formatTime(clock.now() - 120 * MIN)} (2h ago)`));
      assert.ok(lines[1]?.includes('permanent'));
      assert.ok(lines[2]?.startsWith('203.0.113.7      sshd'), lines[2]);
      assert.ok(lines[2]?.includes('web-01:3 web-02:2'));
      assert.ok(lines[2]?.includes(`${formatTime(clock.now() + 60 * MIN)} (in 1h)`));
      assert.ok(lines[2]?.endsWith('  2'));
      assert.equal(lines[3], '2 active bans');
      // the header and rows share column starts
      const col = (line: string | undefined, word: string) => (line ?? '').indexOf(word);
      assert.equal(col(lines[0], 'JAIL'), col(lines[2], 'sshd'));
    });

    it('--jail filters, --json prints the bans, none prints a plain line', async () => {
      const sshd = await cli('bans', '--jail', 'sshd', '--json');
      assert.equal(sshd.code, ExitCode.OK);
      const parsed = JSON.parse(sshd.out) as { target: string; hosts: Record<string, number> }[];
      assert.deepEqual(
        parsed.map((b) => b.target),
        ['203.0.113.7'],
      );
      assert.deepEqual(parsed[0]?.hosts, { 'web-01': 3, 'web-02': 2 });
      plane.bansByTarget.clear();
      assert.equal((await cli('bans')).out, 'no active bans\n');
      assert.equal((await cli('bans', '-j', 'sshd')).out, 'no active bans in jail sshd\n');
    });
  });

  describe('ban', () => {
    it('bans for a duration with a reason', async () => {
      const r = await cli('ban', '192.0.2.9', '--for', '1h', '--reason', 'credential stuffing');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.equal(
        r.out,
        `banned 192.0.2.9 in jail manual until ${formatTime(clock.now() + 60 * MIN)} (in 1h)\n`,
      );
      const ban = plane.bansByTarget.get('192.0.2.9');
      assert.ok(ban !== undefined);
      assert.equal(ban.end, clock.now() + 60 * MIN);
      assert.equal(ban.reason, 'credential stuffing');
    });

    it('bans a prefix permanently in a jail, --json prints the ban', async () => {
      const r = await cli('ban', '2001:db8:1::/48', '--permanent', '--jail', 'sshd', '--json');
      assert.equal(r.code, ExitCode.OK, r.err);
      const ban = JSON.parse(r.out) as { target: string; end: unknown; jail: string };
      assert.deepEqual([ban.target, ban.end, ban.jail], ['2001:db8:1::/48', null, 'sshd']);
      const human = await cli('ban', '192.0.2.0/24', '--permanent');
      assert.equal(human.out, 'banned 192.0.2.0/24 in jail manual permanently\n');
    });

    it('refuses bad arguments with exit 2, a one-line reason and the usage', async () => {
      const usage =
        'usage: fleetban ban IP|CIDR [--jail J] [--for D | --permanent] [--reason T] [--json]\n';
      const cases: [string[], string][] = [
        [['ban'], 'fleetban ban: missing IP|CIDR\n'],
        [
          ['ban', '192.0.2.1', '--for', 'abc'],
          "fleetban ban: --for: 'abc' is not a duration (use seconds or 30s, 10m, 1h, 1d, 1w)\n",
        ],
        [
          ['ban', '192.0.2.1', '--for', '0'],
          "fleetban ban: --for: '0' is not a duration (use seconds or 30s, 10m, 1h, 1d, 1w)\n",
        ],
        [['ban', '192.0.2.1', '--frobnicate'], 'fleetban ban: unknown option --frobnicate\n'],
        [['ban', '192.0.2.1', '--jail'], 'fleetban ban: option --jail needs a value\n'],
        [
          ['ban', '192.0.2.1', '--for', '1h', '--permanent'],
          'fleetban ban: --for and --permanent exclude each other\n',
        ],
        [
          ['ban', 'example.org'],
          "fleetban ban: 'example.org' is not an IP address or CIDR prefix\n",
        ],
        [['ban', '192.0.2.1', '192.0.2.2'], "fleetban ban: unexpected argument '192.0.2.2'\n"],
      ];
      for (const [[command = '', ...rest], message] of cases) {
        const argv = [command, ...rest];
        const r = await cli(command, ...rest);
        assert.equal(r.code, ExitCode.USAGE, argv.join(' '));
        assert.equal(r.err, message + usage, argv.join(' '));
        assert.equal(r.out, '');
      }
      assert.equal(plane.bansByTarget.size, 2, 'nothing was banned');
    });

    it('a server refusal (ignored address, unknown jail) exits 1 with its message', async () => {
      const ignored = await cli('ban', '10.1.2.3');
      assert.equal(ignored.code, ExitCode.FAILED);
      assert.equal(ignored.err, 'fleetban ban: 10.1.2.3 is on the ignore list (ignoreip)\n');
      const jail = await cli('ban', '192.0.2.1', '--jail', 'nope');
      assert.equal(jail.code, ExitCode.FAILED);
      assert.match(jail.err, /no jail named nope/);
    });
  });

  describe('unban', () => {
    it('lifts one ban, CIDRs included', async () => {
      const r = await cli('unban', '198.51.100.0/24');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.equal(r.out, 'unbanned 198.51.100.0/24 (jail recidive)\n');
      assert.deepEqual([...plane.bansByTarget.keys()], ['203.0.113.7']);
    });

    it('not banned exits 1; no target or both target and --all exit 2', async () => {
      const missing = await cli('unban', '192.0.2.77');
      assert.equal(missing.code, ExitCode.FAILED);
      assert.equal(missing.err, 'fleetban unban: 192.0.2.77 is not banned\n');
      const none = await cli('unban');
      assert.equal(none.code, ExitCode.USAGE);
      assert.match(
        none.err,
        /^fleetban unban: missing IP\|CIDR \(or --all\)\nusage: fleetban unban/,
      );
      const both = await cli('unban', '192.0.2.77', '--all');
      assert.equal(both.code, ExitCode.USAGE);
      assert.equal(plane.bansByTarget.size, 2);
    });

    it('--all lifts everything; --json lists the lifted bans', async () => {
      const r = await cli('unban', '--all', '--json');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.deepEqual((JSON.parse(r.out) as { target: string }[]).map((b) => b.target).sort(), [
        '198.51.100.0/24',
        '203.0.113.7',
      ]);
      assert.equal(plane.bansByTarget.size, 0);
      assert.equal((await cli('unban', '--all')).out, '0 bans lifted\n');
    });
  });

  describe('reload', () => {
    it('prints what changed', async () => {
      const r = await cli('reload');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.equal(
        r.out,
        'reloaded: 2 jails\n  changed: sshd\n  warning: jail recidive reads no log yet\n',
      );
    });

    it('a refused config exits 1 and says the old one keeps running', async () => {
      plane.nextReloadError = new FleetbanError(
        ErrorCode.JAIL_INVALID,
        '/etc/fleetban/jails.d/sshd.json: findtime: "soon" is not a duration',
      );
      const r = await cli('reload');
      assert.equal(r.code, ExitCode.FAILED);
      assert.equal(
        r.err,
        'fleetban reload: reload refused, the running configuration is unchanged: ' +
          '/etc/fleetban/jails.d/sshd.json: findtime: "soon" is not a duration\n',
      );
    });
  });

  describe('senders', () => {
    it('prints a table and --json', async () => {
      plane.sendersList.splice(
        0,
        plane.sendersList.length,
        {
          address: '192.0.2.10',
          messages: 4200,
          bytes: 3 * 1024 * 1024,
          parseErrors: 3,
          dropped: 0,
          invalidUtf8: 1,
          oversized: 0,
          firstSeen: clock.now() - 60 * MIN,
          lastSeen: clock.now() - 2000,
          transports: ['udp', 'tcp'],
          silentSince: null,
        },
        {
          address: '192.0.2.11',
          messages: 7,
          bytes: 700,
          parseErrors: 0,
          dropped: 0,
          invalidUtf8: 0,
          oversized: 0,
          firstSeen: clock.now() - 60 * MIN,
          lastSeen: clock.now() - 20 * MIN,
          transports: ['tcp'],
          silentSince: clock.now() - 5 * MIN,
        },
      );
      const r = await cli('senders');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.match(r.out, /^SENDER +VIA +MESSAGES +BYTES.* +LAST SEEN +SILENT$/m);
      assert.match(r.out, /^192\.0\.2\.10 +udp,tcp +4200 +3\.0 MiB +3 +0 +1 +0 +.+ +2s ago +-$/m);
      assert.match(r.out, /^192\.0\.2\.11 +tcp +7 .+ +20m ago +flagged 5m ago$/m);
      const json = await cli('senders', '--json');
      const listed = JSON.parse(json.out) as { messages: number; silentSince: number | null }[];
      assert.equal(listed[0]?.messages, 4200);
      assert.equal(listed[0].silentSince, null);
      assert.equal(listed[1]?.silentSince, clock.now() - 5 * MIN);
      plane.sendersList.length = 0;
      assert.equal((await cli('senders')).out, 'no senders yet\n');
    });
  });

  describe('finding the server', () => {
    it('an unreachable socket exits 3 with a clear message', async () => {
      const missing = join(dir, 'missing', 'admin.sock');
      const r = await run(['status', '--socket', missing]);
      assert.equal(r.code, ExitCode.UNREACHABLE);
      assert.equal(
        r.err,
        `fleetban status: cannot reach the fleetban server at ${missing} (is it running? see --config): ENOENT\n`,
      );
    });

    it('reads control.socket from --config, and FLEETBAN_ADMIN_SOCKET overrides it', async () => {
      const config = join(dir, 'fleetban.json');
      await writeFile(config, JSON.stringify({ control: { socket } }));
      assert.equal((await run(['bans', '--config', config])).code, ExitCode.OK);
      const yaml = join(dir, 'fleetban.yaml');
      await writeFile(yaml, `control:\n  socket: ${JSON.stringify(socket)}\n`);
      assert.equal((await run(['bans', '--config', yaml])).code, ExitCode.OK);
      const env = await run(['bans', '--config', config], {
        FLEETBAN_ADMIN_SOCKET: join(dir, 'nope.sock'),
      });
      assert.equal(env.code, ExitCode.UNREACHABLE);
      assert.equal((await run(['bans'], { FLEETBAN_ADMIN_SOCKET: socket })).code, ExitCode.OK);
    });

    it('needs only the control section: the SMTP password may live in the server environment alone', async () => {
      // fleetban.conf(5) recommends FLEETBAN_SMTP_PASS in the server's environment only; the
      // CLI, run by an admin without it, must still find the server.
      const config = join(dir, 'mail-secret.json');
      const mail = {
        enabled: true,
        from: 'fleetban@example.net',
        to: ['admin@example.net'],
        smtp: { host: 'smtp.example.net', port: 587, user: 'fleetban' },
      };
      await writeFile(config, JSON.stringify({ control: { socket }, mail }));
      for (const command of [['status'], ['bans'], ['mail', 'test']]) {
        const r = await run([...command, '--config', config]);
        assert.doesNotMatch(r.err, /mail\.smtp\.pass/, command.join(' '));
        assert.notEqual(r.code, ExitCode.UNREACHABLE, r.err);
      }
      assert.equal((await run(['bans', '--config', config])).code, ExitCode.OK);
      // The control section itself is still checked strictly.
      await writeFile(config, JSON.stringify({ control: { socket, sokcet: 'x' }, mail }));
      const typo = await run(['bans', '--config', config]);
      assert.equal(typo.code, ExitCode.FAILED);
      assert.match(typo.err, /sokcet/);
    });

    it('uses TCP with the token when the config disables the socket', async () => {
      const config = join(dir, 'tcp.json');
      const http = { enabled: true, address: '127.0.0.1', port: tcpPort, token: TOKEN };
      await writeFile(config, JSON.stringify({ control: { socket: '', http } }));
      const r = await run(['bans', '--config', config, '--json']);
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.equal((JSON.parse(r.out) as unknown[]).length, 2);
      await writeFile(
        config,
        JSON.stringify({
          control: { socket: '', http: { ...http, token: 'wrong-token-0123456789' } },
        }),
      );
      const refused = await run(['bans', '--config', config]);
      assert.equal(refused.code, ExitCode.FAILED);
      assert.match(refused.err, /bearer token/);
    });

    it('a missing or malformed --config file fails with a message naming it', async () => {
      const missing = await run(['status', '--config', join(dir, 'absent.json')]);
      assert.equal(missing.code, ExitCode.FAILED);
      assert.match(missing.err, /absent\.json/);
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ control: { socket: 42 } }));
      const r = await run(['status', '--config', bad]);
      assert.equal(r.code, ExitCode.FAILED);
      assert.match(r.err, /bad\.json: control\.socket: must be of type String/);
    });
  });

  describe('help and dispatch', () => {
    it('--version, --help, command help, unknown command', async () => {
      const version = await run(['--version']);
      assert.equal(version.code, ExitCode.OK);
      assert.match(version.out, /^fleetban \d+\.\d+\.\d+/);
      const help = await run(['--help']);
      assert.equal(help.code, ExitCode.OK);
      for (const name of ['status', 'bans', 'ban', 'unban', 'reload', 'senders']) {
        assert.match(help.out, new RegExp(`^  ${name} +\\S`, 'm'));
      }
      assert.match(
        help.out,
        /exit codes: 0 ok, 1 operation failed, 2 usage error, 3 server unreachable/,
      );
      const banHelp = await run(['ban', '--help']);
      assert.equal(banHelp.code, ExitCode.OK);
      assert.match(banHelp.out, /^usage: fleetban ban IP\|CIDR/);
      assert.match(banHelp.out, /--for D +ban duration/);
      assert.equal((await run(['help', 'unban'])).out, (await run(['unban', '-h'])).out);
      const unknown = await run(['frobnicate']);
      assert.equal(unknown.code, ExitCode.USAGE);
      assert.equal(unknown.err, "fleetban: unknown command 'frobnicate' (see fleetban --help)\n");
      const nothing = await run([]);
      assert.equal(nothing.code, ExitCode.USAGE);
      assert.match(nothing.err, /^usage: fleetban <command>/);
    });

    it('dispatches multi-word commands to the longest name', async () => {
      const seen: string[] = [];
      const make = (name: string) => ({
        name,
        summary: name,
        usage: name,
        options: {},
        positionals: { names: ['FILE'], required: 0 },
        run: ({ positionals }: { positionals: readonly string[] }) => {
          seen.push(`${name}:${positionals.join(',')}`);
          return Promise.resolve(ExitCode.OK);
        },
      });
      const commands = [make('config'), make('config check')];
      const io = { stdout: () => undefined, stderr: () => undefined, env: {}, clock };
      assert.equal(await main(['config', 'check', 'a.json'], io, commands), 0);
      assert.equal(await main(['config', 'b.json'], io, commands), 0);
      assert.deepEqual(seen, ['config check:a.json', 'config:b.json']);
    });
  });
});
