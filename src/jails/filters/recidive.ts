// Built-in filter for repeat offenders: counts the ban lines fleetban (and fail2ban hosts) log, to ban again for longer.
import type { FilterDefinition } from './definition.js';

/**
 * The jail's own bans must not count, or one ban would feed the next forever; a jail name that
 * is not "recidive" needs its own ignoreregex. "Restore Ban" (bans reloaded at restart) and
 * "Unban" never count: they are not new offences.
 */
const JAIL = String.raw`\[(?!recidive\])[^\]\s"]{1,64}\]`;
/**
 * A banned prefix counts for its first address; give the recidive jail a banmask as wide as the
 * source jails'. The ban line ends with its own `Ban ADDR` (pino puts `msg` last and escapes the
 * quotes of every other field), so the patterns are anchored at the end.
 */
const TARGET = String.raw`<HOST>(?:/\d{1,3})?`;

export const recidive: FilterDefinition = {
  description: 'Repeat offenders: ban lines of fleetban and fail2ban',
  programs: ['fleetban', 'fail2ban', 'fail2ban-server', 'fail2ban.actions'],
  failregex: [
    // fleetban's pino line as the journal forwards it (JSON), or its plain message text.
    String.raw`^\{.{0,4096}"msg":"NOTICE ${JAIL} Ban ${TARGET}"\}\s*$`,
    // fail2ban's log layout: fleetban's ban log, fail2ban.log forwarded with imfile, or fail2ban's SYSLOG target.
    String.raw`^\s{0,32}(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d{3})? )?(?:f(?:ail2|leet)ban\.actions\s{0,24})?(?:\[\d+\]:\s{1,8})?NOTICE\s{1,8}${JAIL}\s{1,8}Ban ${TARGET}\s*$`,
  ],
  ignoreregex: [],
};
