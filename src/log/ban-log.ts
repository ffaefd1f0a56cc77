// fail2ban-style ban lines ("NOTICE  [sshd] Ban 203.0.113.7") that admins grep; recidive counts the stored bans instead.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

export const BanAction = { BAN: 'Ban', UNBAN: 'Unban', RESTORE: 'Restore Ban' } as const;
export type BanAction = (typeof BanAction)[keyof typeof BanAction];

/** The message text shared by the pino log and the ban log file: `NOTICE [sshd] Ban 203.0.113.7`. */
export function banNotice(action: BanAction, jail: string, target: string): string {
  return `NOTICE [${jail}] ${action} ${target}`;
}

/** A line in fail2ban's own log layout, so fail2ban's recidive filter and admins' habits apply. */
export function banLogLine(
  time: Date,
  pid: number,
  action: BanAction,
  jail: string,
  target: string,
): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp =
    `${time.getFullYear()}-${p(time.getMonth() + 1)}-${p(time.getDate())} ` +
    `${p(time.getHours())}:${p(time.getMinutes())}:${p(time.getSeconds())},${p(time.getMilliseconds(), 3)}`;
  return `${stamp} ${'fleetban.actions'.padEnd(24)}[${pid}]: ${'NOTICE'.padEnd(7)} [${jail}] ${action} ${target}\n`;
}

/** Writes each ban event to the structured log and, when configured, to the ban log file. */
export class BanLog {
  readonly #file: WriteStream | null;
  readonly #logger: Logger;
  readonly #clock: Clock;

  constructor(path: string, logger: Logger, clock: Clock) {
    this.#logger = logger;
    this.#clock = clock;
    if (path === '') {
      this.#file = null;
    } else {
      mkdirSync(dirname(path), { recursive: true });
      this.#file = createWriteStream(path, { flags: 'a' });
      this.#file.on('error', (e) => {
        logger.error({ err: e, path }, 'cannot write the ban log');
      });
    }
  }

  write(action: BanAction, jail: string, target: string, details: object = {}): void {
    this.#logger.info({ event: action, jail, target, ...details }, banNotice(action, jail, target));
    this.#file?.write(banLogLine(new Date(this.#clock.now()), process.pid, action, jail, target));
  }

  close(): Promise<void> {
    const file = this.#file;
    if (file === null) return Promise.resolve();
    return new Promise((resolve) => file.end(resolve));
  }
}
