// Built-in filter for Cyrus IMAP 2.4 to 3.8 (imapd, pop3d): failed logins.
import type { FilterDefinition } from './definition.js';

/**
 * `badlogin: NAME [ADDR] MECH [USER] [SASL(-13): REASON]`: the client as Cyrus writes it, its
 * reverse name (none, or glued to the bracket in some builds) then the address in brackets,
 * before the mechanism and the client's user name. A resolved name holds no spaces or brackets,
 * so the first bracket is the address: anchored at the start (docs/filters.md).
 */
const failures: readonly string[] = [
  String.raw`^badlogin: (?:[^\s[\]]{1,253} ?)?\[<ADDR>\] \S+ .*SASL\(-13\): (?:authentication failure|user not found): `,
];

export const cyrusImap: FilterDefinition = {
  description: 'Cyrus IMAP/POP3: failed logins',
  programs: [
    'cyrus/imap',
    'cyrus/imaps',
    'cyrus/pop3',
    'cyrus/pop3s',
    'imap',
    'imaps',
    'imapd',
    'pop3',
    'pop3s',
    'pop3d',
  ],
  failregex: failures,
  ignoreregex: [],
};
