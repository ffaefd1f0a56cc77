// The Debian package: built from the tree, installed into a throwaway root (an overlay over /), used, removed and purged.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }
).version;
const MAN_PAGES = [
  ['8', 'fleetban'],
  ['8', 'fleetban-agent'],
  ['5', 'fleetban.conf'],
  ['5', 'fleetban-jail'],
] as const;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error !== undefined) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: readonly string[], timeoutMs?: number): string {
  const r = run(cmd, args, timeoutMs);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * A root that sees the whole machine read-only through an overlay: whatever dpkg and the
 * maintainer scripts change lands in `upper`, so the host stays untouched and the leftovers of
 * a purge can be listed. Each call mounts the overlay in a private mount namespace that ends
 * with the command.
 */
class ThrowawayRoot {
  readonly upper: string;
  readonly #work: string;
  readonly #merged: string;

  constructor(readonly dir: string) {
    this.upper = join(dir, 'upper');
    this.#work = join(dir, 'work');
    this.#merged = join(dir, 'merged');
  }

  async create(): Promise<void> {
    await Promise.all(
      [this.upper, this.#work, this.#merged].map((d) => mkdir(d, { recursive: true })),
    );
  }

  /** Runs `script` with /bin/sh inside the root. */
  sh(script: string): Run {
    const mountAndRun = [
      'set -e',
      `mount -t overlay overlay -o lowerdir=/,upperdir="$1",workdir="$2" "$3"`,
      'mount -t proc proc "$3/proc"',
      'mount --rbind /dev "$3/dev"',
      'exec chroot "$3" /bin/sh -c "$4"',
    ].join('\n');
    return run('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      mountAndRun,
      'sh',
      this.upper,
      this.#work,
      this.#merged,
      script,
    ]);
  }

  shOk(script: string): string {
    const r = this.sh(script);
    assert.equal(r.code, 0, `in the root: ${script}\nexited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }
}

/** Files dpkg and the user tools must change on any install and purge; everything else must go. */
const EXPECTED_CHANGES = [
  /^var\/lib\/dpkg\//,
  /^var\/log\/dpkg\.log$/,
  /^var\/cache\/(man|debconf)\//,
  /^etc\/(passwd|group|shadow|gshadow|subuid|subgid)-?$/,
  /^etc\/\.pwd\.lock$/,
  // Lock and cache files of adduser and systemd-analyze, in /run (a tmpfs on a booted system).
  /^run\/(adduser|systemd\/systemd-units-load)$/,
  /^(tmp|proc|dev)(\/|$)/,
];

/** Paths in the overlay's upper layer that did not exist on the host, or that hide a host file. */
function leftovers(upper: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(upper, path);
      if (EXPECTED_CHANGES.some((re) => re.test(rel))) continue;
      const st = lstatSync(path);
      if (st.isCharacterDevice() && st.rdev === 0) found.push(`${rel} (deleted a host file)`);
      else if (st.isDirectory()) {
        if (!existsSync(join('/', rel))) found.push(`${rel}/`);
        walk(path);
      } else found.push(rel);
    }
  };
  walk(upper);
  return found;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

describe('the Debian package', () => {
  let temp = '';
  let deb: string;
  let root: ThrowawayRoot;
  const arch = () => ok('dpkg', ['--print-architecture']).trim();

  before(async () => {
    assert.equal(
      process.getuid?.(),
      0,
      'the package test installs into a throwaway root with dpkg, unshare and mount: run it as root',
    );
    temp = await mkdtemp(join(tmpdir(), 'fleetban-package-'));
    // FLEETBAN_DEB reuses a package built earlier in the same run (CI builds it once).
    const prebuilt = process.env.FLEETBAN_DEB;
    if (prebuilt !== undefined && prebuilt !== '') {
      deb = join(temp, 'fleetban.deb');
      await copyFile(prebuilt, deb);
    } else {
      deb =
        lines(
          ok('bash', [join(REPO, 'packaging/build-deb.sh'), '--out', join(temp, 'out')], 120_000),
        ).at(-1) ?? '';
    }
    root = new ThrowawayRoot(join(temp, 'root'));
    await root.create();
  });

  after(async () => {
    if (temp !== '') await rm(temp, { recursive: true, force: true });
  });

  it('is named and described from package.json, depends on Node 20, and marks the config as conffiles', () => {
    assert.match(deb, new RegExp(`/fleetban_${VERSION.replace(/\./g, '\\.')}_${arch()}\\.deb$`));
    const field = (name: string) => ok('dpkg-deb', ['-f', deb, name]).trim();
    assert.equal(field('Package'), 'fleetban');
    assert.equal(field('Version'), VERSION);
    assert.equal(field('Architecture'), arch());
    assert.match(field('Depends'), /(^|, )nodejs \(>= 20\)(,|$)/);
    assert.match(field('Recommends'), /\bnftables\b/);
    const conffiles = lines(ok('dpkg-deb', ['-I', deb, 'conffiles']));
    const jailFiles = readdirSync(join(REPO, 'config/jails.d')).filter((n) => n.endsWith('.json'));
    assert.deepEqual(
      conffiles.sort(),
      ['/etc/fleetban/fleetban.json', ...jailFiles.map((n) => `/etc/fleetban/jails.d/${n}`)].sort(),
    );
  });

  it('holds the program with production dependencies only, units, sysctl, man pages and examples', () => {
    const listing = lines(ok('dpkg-deb', ['-c', deb], 60_000));
    const paths = new Set(listing.map((l) => (l.split(/\s+/)[5] ?? '').replace(/^\./, '')));
    const want = [
      '/usr/lib/fleetban/dist/src/bin/fleetban.js',
      '/usr/lib/fleetban/dist/native/udp_recv.node',
      '/usr/lib/fleetban/package.json',
      '/usr/lib/fleetban/node_modules/level/package.json',
      '/usr/lib/fleetban/node_modules/classic-level/package.json',
      '/usr/bin/fleetban',
      '/lib/systemd/system/fleetban.service',
      '/lib/systemd/system/fleetban-agent.service',
      '/usr/lib/sysctl.d/60-fleetban.conf',
      '/var/lib/fleetban/',
      '/usr/share/doc/fleetban/copyright',
      '/usr/share/doc/fleetban/examples/rsyslog/60-fleetban-tcp.conf',
      '/usr/share/doc/fleetban/examples/syslog-ng/fleetban.conf',
      '/usr/share/doc/fleetban/examples/agent-host.json',
      '/usr/share/doc/fleetban/examples/agent-gateway.json',
      ...MAN_PAGES.map(([s, n]) => `/usr/share/man/man${s}/${n}.${s}.gz`),
    ];
    for (const p of want) assert.ok(paths.has(p), `${p} is in the package`);
    for (const p of paths) {
      assert.doesNotMatch(
        p,
        /^\/usr\/lib\/fleetban\/dist\/(test|bench)\//,
        'no tests or benchmarks',
      );
      assert.doesNotMatch(
        p,
        /\/node_modules\/(typescript|eslint|prettier|smtp-server|@types)\//,
        'no dev dependencies',
      );
    }
    const link = listing.find((l) => / \.\/usr\/bin\/fleetban -> /.test(l));
    assert.match(link ?? '', /-> \.\.\/lib\/fleetban\/dist\/src\/bin\/fleetban\.js$/);
  });

  it('installs offline into a fresh root: user, state folder, working CLI and config, valid units', () => {
    root.shOk(`dpkg -i ${deb}`);
    assert.equal(root.shOk('fleetban --version').trim(), `fleetban ${VERSION}`);
    // The recvmmsg UDP reader loads from where the program looks for it.
    assert.equal(
      root
        .shOk(
          `node -e 'const m = require("/usr/lib/fleetban/dist/native/udp_recv.node"); console.log([m.open, m.receive, m.close].map((f) => typeof f).join())'`,
        )
        .trim(),
      'function,function,function',
    );

    const check = root.shOk('fleetban config check');
    assert.match(check, /^\/etc\/fleetban\/fleetban\.json: ok$/m);
    assert.match(check, /^jails in \/etc\/fleetban\/jails\.d: /m);
    assert.match(check, /allowedSenders is empty/);
    const resolved = JSON.parse(root.shOk('fleetban config check --json')) as {
      config: {
        store: { path: string };
        control: { socket: string };
        ingest: { udp: { port: number; recvBufferSize: number }; tcp: { port: number } };
      };
    };
    assert.equal(resolved.config.store.path, '/var/lib/fleetban');
    assert.equal(resolved.config.control.socket, '/run/fleetban/admin.sock');
    assert.equal(resolved.config.ingest.udp.port, 514);
    assert.equal(resolved.config.ingest.tcp.port, 514);
    // The sysctl drop-in grants the receive buffer the config asks for (the kernel allows 2 x rmem_max).
    const rmem = /net\.core\.rmem_max\s*=\s*(\d+)/.exec(
      root.shOk('cat /usr/lib/sysctl.d/60-fleetban.conf'),
    );
    assert.ok(rmem !== null && Number(rmem[1]) * 2 >= resolved.config.ingest.udp.recvBufferSize);

    assert.match(
      root.shOk('getent passwd fleetban'),
      /^fleetban:x:\d+:\d+:.*:\/var\/lib\/fleetban:\/usr\/sbin\/nologin$/m,
    );
    assert.equal(root.shOk('stat -c %U:%G:%a /var/lib/fleetban').trim(), 'fleetban:fleetban:750');
    assert.equal(
      root.shOk('stat -c %U:%G:%a /etc/fleetban/fleetban.json').trim(),
      'root:fleetban:640',
    );

    const verify = root.sh(
      'systemd-analyze verify --man=no /lib/systemd/system/fleetban.service /lib/systemd/system/fleetban-agent.service',
    );
    assert.equal(verify.code, 0, `systemd-analyze verify:\n${verify.stdout}${verify.stderr}`);
    assert.equal(verify.stderr.trim(), '', 'no warnings from systemd-analyze verify');
  });

  it('renders every man page with man(1)', () => {
    for (const [section, name] of MAN_PAGES) {
      const text = root.shOk(`MANWIDTH=80 man -P cat ${section} ${name} 2>&1`);
      assert.match(
        text,
        new RegExp(`^${name.replace('.', '\\.').toUpperCase()}\\(${section}\\)`, 'm'),
      );
      assert.match(text, /^NAME\n\s+\S/m, `${name}(${section}) has a NAME section`);
      assert.match(text, /^SEE ALSO$/m);
    }
  });

  it('dpkg -r keeps the configuration, the ban store and the user', () => {
    root.shOk('dpkg -r fleetban');
    assert.match(root.shOk("dpkg-query -W -f '${db:Status-Abbrev}' fleetban"), /^rc/);
    root.shOk('test ! -e /usr/lib/fleetban && test ! -e /usr/bin/fleetban');
    root.shOk('test ! -e /lib/systemd/system/fleetban.service');
    root.shOk('test -f /etc/fleetban/fleetban.json && test -f /etc/fleetban/jails.d/sshd.json');
    root.shOk('getent passwd fleetban');
  });

  it('dpkg -P removes everything, the user too, and leaves nothing behind', () => {
    root.shOk('dpkg -P fleetban');
    assert.notEqual(root.sh('dpkg-query -W fleetban').code, 0, 'dpkg no longer knows the package');
    root.shOk('test ! -e /etc/fleetban && test ! -e /var/lib/fleetban');
    assert.notEqual(root.sh('getent passwd fleetban').code, 0, 'the user is gone');
    assert.notEqual(root.sh('getent group fleetban').code, 0, 'the group is gone');
    for (const file of ['passwd', 'group', 'shadow', 'gshadow', 'subuid', 'subgid']) {
      const inRoot = root.sh(`cat /etc/${file} 2>/dev/null`).stdout;
      const onHost = existsSync(`/etc/${file}`) ? readFileSync(`/etc/${file}`, 'utf8') : '';
      assert.equal(inRoot, onHost, `/etc/${file} is as before the install`);
    }
    assert.deepEqual(leftovers(root.upper), []);
  });
});
