// Built-in filter for UW IMAP (imapd, ipop3d 2007f as in Debian): failed logins.
import type { FilterDefinition } from './definition.js';

/**
 * `Login failed user=USER auth=AUTH host=NAME [ADDR]`: the user and authentication names are the
 * client's, before the host; nothing follows the address. They are matched greedily and the
 * line is anchored at its end, so the last `host=NAME [ADDR]` is taken (docs/filters.md). A
 * resolved name holds no spaces or brackets.
 */
const HOST = String.raw`host=(?:[^\s[\]]{1,253} )?\[<ADDR>\]\s*$`;

const failures: readonly string[] = [
  String.raw`^Login (?:failed|excessive login failures|disabled|SYSTEM BREAK-IN ATTEMPT) user=<F-USER>.*</F-USER> auth=.* ${HOST}`,
  String.raw`^Failed \S+ override of user=<F-USER>.*</F-USER> +${HOST}`,
];

export const uwimapAuth: FilterDefinition = {
  description: 'UW IMAP/POP3: failed logins',
  programs: ['imapd', 'ipop3d', 'ipop2d'],
  failregex: failures,
  ignoreregex: [],
};
