// A deterministic mixed auth log in syslog file format, so filter comparisons need no outside data.
import { writeFile } from 'node:fs/promises';

/** A small seeded generator (mulberry32): the same seed gives the same log on every machine. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes `lines` lines: about a third sshd failures of several kinds (wrong password, invalid
 * user, pam_unix, preauth disconnects, IPv6), the rest ordinary traffic (accepted logins,
 * sessions, cron, sudo, kernel). Returns how many lines are sshd failure lines.
 */
export async function writeAuthLog(file: string, lines: number, seed = 7): Promise<number> {
  const r = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const users = ['admin', 'test', 'oracle', 'ubuntu', 'pi', 'git', 'support', 'deploy'];
  const ip = () =>
    r() < 0.1
      ? `2001:db8:${int(1, 9)}::${int(1, 0xffff).toString(16)}`
      : `${pick(['192.0.2', '198.51.100', '203.0.113'])}.${int(1, 254)}`;
  const failures = [
    () =>
      `Failed password for invalid user ${pick(users)} from ${ip()} port ${int(1024, 65535)} ssh2`,
    () => `Failed password for root from ${ip()} port ${int(1024, 65535)} ssh2`,
    () => `Invalid user ${pick(users)} from ${ip()} port ${int(1024, 65535)}`,
    () =>
      `Connection closed by invalid user ${pick(users)} ${ip()} port ${int(1024, 65535)} [preauth]`,
    () =>
      `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip()}  user=root`,
  ];
  const noise = [
    () =>
      `sshd[${int(1000, 65000)}]: Accepted publickey for deploy from ${ip()} port ${int(1024, 65535)} ssh2: ED25519 SHA256:abc`,
    () =>
      `sshd[${int(1000, 65000)}]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)`,
    () => `CRON[${int(1000, 65000)}]: pam_unix(cron:session): session closed for user root`,
    () => `systemd-logind[612]: New session ${int(1, 99999)} of user deploy.`,
    () =>
      `sudo[${int(1000, 65000)}]:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/true`,
    () => `kernel: [${int(1, 99999)}.${String(int(0, 999999)).padStart(6, '0')}] eth0: link up`,
  ];
  const out: string[] = [];
  let failed = 0;
  let second = 0;
  for (let i = 0; i < lines; i++) {
    second += pick([0, 0, 1]);
    const h = Math.floor(second / 3600) % 24;
    const m = Math.floor(second / 60) % 60;
    const s = second % 60;
    const day = 10 + Math.floor(second / 86400);
    const stamp = `Oct ${String(day).padStart(2, ' ')} ${[h, m, s].map((n) => String(n).padStart(2, '0')).join(':')}`;
    const host = `web${String(int(1, 19)).padStart(2, '0')}`;
    let text: string;
    if (r() < 0.33) {
      failed++;
      text = `sshd[${int(1000, 65000)}]: ${pick(failures)()}`;
    } else {
      text = pick(noise)();
    }
    out.push(`${stamp} ${host} ${text}\n`);
  }
  await writeFile(file, out.join(''));
  return failed;
}
