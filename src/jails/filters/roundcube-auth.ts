// Built-in filter for Roundcube 1.4 to 1.6 logging to syslog (log_driver syslog): failed logins.
import type { FilterDefinition } from './definition.js';
import { textWithout } from './regex-text.js';

/** `[time]: ` of Roundcube's own log files (when relayed), then the `<sessid> ` of 1.1 and later. */
const SESSION = String.raw`^(?:\[[^\]]{1,64}\]: )?(?:<\w{1,64}> )?`;
/**
 * Roundcube writes the client as `ADDR`, then any X-Real-IP and X-Forwarded-For headers the
 * request carried in parentheses: `203.0.113.5(X-Real-IP: 192.0.2.3,X-Forwarded-For: 192.0.2.4)`.
 * The headers are the client's text after the address: they are accepted only as lists of
 * addresses, in which no copy of the line's tail can stand.
 */
const CLIENT = String.raw`<HOST>(?:\((?:X-Real-IP: [0-9A-Fa-f.:]{1,45})?,?(?:X-Forwarded-For: [0-9A-Fa-f.:, ]{0,512})?\))?`;

/**
 * The login line (log_logins): the name before the address is the client's, and only Roundcube's
 * text follows the address: the name is matched greedily and the line anchored at its end, so
 * the last address is taken (docs/filters.md).
 *
 * The IMAP error line has client text on both sides: the name before the address, and the IMAP
 * server's refusal after it, which may repeat the name (fail2ban's samples assume so). The
 * delimiters are Roundcube's words between spaces: since 1.5, `for NAME against HOST from ADDR.
 * REFUSAL`, the name may not hold " against " and the refusal not " from "; before, `for NAME
 * from ADDR. REFUSAL`, neither may hold " from ". A copy of the tail in the name would put the
 * real "against"/"from" in the refusal, and a copy in the refusal the real one in the name: either
 * leaves the line unmatched rather than banning the copy. A request line holds no space.
 *
 * Deliberate differences from fail2ban 1.0.2: its injection samples whose name holds " from " are
 * not matched (fail2ban compares the refusal's `user=` with the name by backreference, which the
 * linear-time engine cannot run), and forwarded-for headers that are no address list are refused.
 */
const IMAP = String.raw`${SESSION}(?:IMAP Error: )?(?:FAILED login|Login failed) for `;
const REFUSAL = String.raw`\.${textWithout('from')} in \S+ on line \d+ \(\w+ \S*\)`;
const failures: readonly string[] = [
  String.raw`${IMAP}<F-USER>${textWithout('against')}</F-USER> against \S+ from ${CLIENT}${REFUSAL}\s*$`,
  String.raw`${IMAP}<F-USER>${textWithout('from')}</F-USER> from ${CLIENT}(?:${REFUSAL})?\s*$`,
  String.raw`${SESSION}Failed login for <F-USER>.*</F-USER> from ${CLIENT} in session \w+(?: \(error: -?\d+\))?\s*$`,
];

export const roundcubeAuth: FilterDefinition = {
  description: 'Roundcube webmail: failed logins',
  programs: ['roundcube'],
  failregex: failures,
  ignoreregex: [],
};
