// Built-in filter for repeat offenders: counts fleetban's own ban decisions, to ban again for longer.
import type { FilterDefinition } from './definition.js';
import { runExcept } from './regex-text.js';

/**
 * A jail with this filter reads no syslog: the server hands it each ban it stores, as the
 * notice text `NOTICE [sshd] Ban 203.0.113.7`, so forged ban lines from any sender count for
 * nothing. Bans of such jails never count (one ban would feed the next forever), nor do
 * "Restore Ban" and "Unban". The patterns also read fleetban's ban log and fail2ban's log,
 * which is what `fleetban test-filter recidive FILE` replays.
 */
const JAIL = String.raw`\[${runExcept(String.raw`[^\]\s"]`, 1, 64, 'recidive', 'whole')}\]`;
/**
 * A banned prefix counts for its first address; give the recidive jail a banmask as wide as the
 * source jails'. The ban line ends with its own `Ban ADDR` (pino puts `msg` last and escapes the
 * quotes of every other field), so the patterns are anchored at the end.
 */
const TARGET = String.raw`<HOST>(?:/\d{1,3})?`;

export const recidive: FilterDefinition = {
  description: "Repeat offenders: fleetban's own bans (fed by the server, never from syslog)",
  source: 'bans',
  programs: ['fleetban', 'fail2ban', 'fail2ban-server', 'fail2ban.actions'],
  failregex: [
    // fleetban's pino line as the journal forwards it (JSON), or its plain message text.
    String.raw`^\{.{0,4096}"msg":"NOTICE ${JAIL} Ban ${TARGET}"\}\s*$`,
    // fail2ban's log layout: fleetban's ban log, fail2ban.log forwarded with imfile, or fail2ban's SYSLOG target.
    String.raw`^\s{0,32}(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d{3})? )?(?:f(?:ail2|leet)ban\.actions\s{0,24})?(?:\[\d+\]:\s{1,8})?NOTICE\s{1,8}${JAIL}\s{1,8}Ban ${TARGET}\s*$`,
  ],
  ignoreregex: [],
};
