// Built-in filter for Dropbear SSH (2019.78 to 2025.x): wrong passwords, unknown users, too many tries.
import type { FilterDefinition } from './definition.js';

/**
 * Dropbear writes the client as `ADDR:PORT` (IPv6 unbracketed: `2001:db8::5:51234`); the port is
 * always there, so the last colon group is the port and the address is what precedes it.
 */
const PEER = String.raw`<HOST>:\d+`;

/**
 * The user name is the client's text, quoted with `'` but unescaped. Where it precedes the
 * address, it is matched greedily and the line is anchored at its end on the peer: a name
 * ending in `' from 8.8.8.8:22` becomes part of the name (docs/filters.md, last occurrence). The
 * current exit line puts the peer first, before any client text: it is anchored at the start.
 * fail2ban 1.0.2 knows only the old exit line; matching the current one is a deliberate difference.
 */
const failures: readonly string[] = [
  String.raw`^[Bb]ad (?:PAM )?password attempt for '<F-USER>.*</F-USER>' from ${PEER}\s*$`,
  String.raw`^[Ll]ogin attempt for nonexistent user (?:'<F-USER>.*</F-USER>' )?from ${PEER}\s*$`,
  String.raw`^Exit before auth from <${PEER}>: \(user '<F-USER>.*</F-USER>', \d+ fails\): Max auth tries reached - user '.*'\s*$`,
  // Before 2016.72 the peer came last.
  String.raw`^[Ee]xit before auth \(user '<F-USER>.*</F-USER>', \d+ fails\): Max auth tries reached - user '.*' from ${PEER}\s*$`,
];

export const dropbear: FilterDefinition = {
  description: 'Dropbear SSH: wrong passwords, unknown users, maximum tries reached',
  programs: ['dropbear'],
  failregex: failures,
  ignoreregex: [],
};
