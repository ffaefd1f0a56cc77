// Built-in filter for Gitea and Forgejo (1.17 on): failed web logins.
import type { FilterDefinition } from './definition.js';

/**
 * Gitea's own prefix when its log reaches syslog through stdout: `yyyy/mm/dd hh:mm:ss `, the
 * caller (`routers/web/auth/auth.go:204:SignInPost()`, no spaces) and the level `[I] `.
 */
const PREFIX = String.raw`^(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?(?:\S{1,256} )?\[[A-Z]\] `;

/**
 * `Failed authentication attempt for NAME from ADDR[:PORT]: ERROR`, where the error repeats the
 * name (`user does not exist [uid: 0, name: NAME]`, `e-mail address does not exist [email:
 * NAME]`): client text on both sides of the address. The delimiter is the colon: the remote
 * address ends with one (`203.0.113.5:51234: `, `[2001:db8::5]:51234: `, or `203.0.113.5: `
 * behind a trusted proxy, which leaves no port), and the name is matched without colons both
 * before the address and in the error. A copy of `from ADDR: ` inside a name needs a colon, and
 * the same name then stands in the error, where no colon may be: such a line does not match at
 * all (docs/filters.md: no match beats the wrong address), nor does one whose error is not one of
 * Gitea's user errors (an LDAP source's own message).
 */
const failures: readonly string[] = [
  String.raw`${PREFIX}Failed authentication attempt for <F-USER>[^:]*</F-USER> from <HOST>(?::\d+)?: [a-z' -]{1,64} \[(?:uid: \d+, name|email): [^:\]]*\]\s*$`,
];

export const gitea: FilterDefinition = {
  description: 'Gitea and Forgejo: failed web logins',
  programs: ['gitea', 'forgejo'],
  failregex: failures,
  ignoreregex: [],
};
