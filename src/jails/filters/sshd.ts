// Built-in filter for OpenSSH 9.x as Debian 12 logs it (program `sshd`; `sshd-session` from 9.8 on).
import type { FilterDefinition } from './definition.js';

// sshd puts "error: " / "fatal: " before some messages depending on version and log level.
const PREF = '^(?:(?:error|fatal): )?';
const PORT = String.raw`(?: port \d+)?`;
const PROTO = String.raw`(?: ssh\d?)?`;
const PREAUTH = String.raw`(?: \[preauth\])?\s*$`;

/**
 * One attempt should count once. On Debian (UsePAM yes) a wrong password also logs a pam_unix
 * line, and a client that gives up logs "Connection closed by authenticating user": counting
 * those too would ban a user who mistypes twice, so they live in the `aggressive` mode only.
 * Every pattern is anchored at both ends around the attacker-controlled user name, so a user
 * name such as "x from 192.0.2.1" cannot point the ban elsewhere.
 */
const normal: readonly string[] = [
  String.raw`${PREF}Failed (?!publickey )\S+ for (?:invalid user )?<F-USER>.*?</F-USER> from <HOST>${PORT}${PROTO}\s*$`,
  String.raw`${PREF}[Ii]nvalid user <F-USER>.*?</F-USER> from <HOST>${PORT}${PREAUTH}`,
  String.raw`${PREF}PAM: [Aa]uthentication failure for (?:illegal user )?<F-USER>.*?</F-USER> from <HOST>\s*$`,
  String.raw`${PREF}User <F-USER>.+?</F-USER> from <HOST> not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups)${PREAUTH}`,
  String.raw`${PREF}maximum authentication attempts exceeded for (?:invalid user )?<F-USER>.*?</F-USER> from <HOST>${PORT}${PROTO}${PREAUTH}`,
  String.raw`${PREF}Unable to negotiate with <HOST>${PORT}: no matching [\w -]+? found\.`,
  String.raw`${PREF}Did not receive identification string from <HOST>${PORT}\s*$`,
  String.raw`${PREF}banner exchange: Connection from <HOST>${PORT}: (?:invalid format|could not read protocol version)`,
  String.raw`${PREF}Bad protocol version identification '.*' from <HOST>${PORT}\s*$`,
];

const aggressiveExtra: readonly string[] = [
  String.raw`^pam_unix\(sshd:auth\): authentication failure;(?: (?:logname|e?uid|tty|ruser)=\S*)* rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$`,
  String.raw`^(?:Connection closed|Connection reset|Disconnected) (?:by|from) (?:invalid|authenticating) user <F-USER>.*?</F-USER> <HOST>${PORT} \[preauth\]\s*$`,
];

export const sshd: FilterDefinition = {
  description: 'OpenSSH: failed and invalid logins, refused users, key-exchange and banner probes',
  programs: ['sshd', 'sshd-session'],
  failregex: normal,
  ignoreregex: [],
  modes: {
    normal: [],
    aggressive: aggressiveExtra,
  },
  defaultMode: 'normal',
};
