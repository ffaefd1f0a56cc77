// Built-in filter for OpenSSH 9.x-10.x as Debian 12 and 13 log it (program `sshd`; `sshd-session` from 9.8 on).
import type { FilterDefinition } from './definition.js';

// sshd puts "error: " / "fatal: " before some messages depending on version and log level.
// Solaris and macOS builds add "[ID 800047 auth.info] ".
const PREF = String.raw`^(?:\[ID \d+ \S+\] )?(?:(?:error|fatal): )?`;
const PORT = String.raw`(?: port \d+)?`;
const PROTO = String.raw`(?: ssh\d?)?`;
const PREAUTH = String.raw`(?: \[preauth\])?\s*$`;
/**
 * What sshd may add after "ssh2" (key type and fingerprint, hostbased client details). The user
 * name before it is matched greedily, so the last " from ADDR port N ssh2" is the one taken: a
 * user name ending in "from ADDR port N ssh2: x" makes its ADDR part of the name, not the ban.
 */
const DETAIL = String.raw`(?:: .{0,512})?`;
/**
 * The methods sshd names in "Failed METHOD for": every one but publickey, which for a real user
 * is a client trying its keys, not an attack (invalid users have their own pattern below).
 */
const METHOD = String.raw`(?:password|keyboard-interactive(?:/\S+)?|hostbased|gssapi-with-mic|none)`;
const ROOT_REFUSED = String.raw`^ROOT LOGIN REFUSED FROM <HOST>${PORT}${PREAUTH}`;
/**
 * OpenSSH 9.8+ (PerSourcePenalties): the listener refuses a connection from a source it has
 * penalised, `drop connection #N from [ADDR]:PORT on [LADDR]:LPORT penalty: REASON`. The line
 * holds no client text: the peer address is the first bracket. The reasons are srclimit.c's. sshd
 * only drops once a source's penalties add up to PerSourcePenalties' `min` (15 s by default, three
 * failed authentications), so a user who mistypes once is never dropped. "past MaxStartups" drops
 * (no penalty) hit any client when the server is busy and do not count. fail2ban 1.0.2 has no
 * pattern for these lines: a deliberate difference.
 */
const PENALTY = String.raw`^drop connection #\d+ from \[<ADDR>\]:\d+ on \[[^\]\s]{1,64}\]:\d+ penalty: (?:failed authentication|exceeded LoginGraceTime|connections without attempting authentication|caused crash|connection prohibited by RefuseConnection)\s*$`;

/**
 * One attempt should count once. On Debian (UsePAM yes) a wrong password also logs a pam_unix
 * line, and a client that gives up logs "Connection closed by authenticating user": counting
 * those too would ban a user who mistypes twice, so they live in the `ddos` and `aggressive` modes.
 * Every pattern is anchored at both ends around the attacker-controlled user name, so a user
 * name such as "x from 192.0.2.1" cannot point the ban elsewhere.
 */
const normal: readonly string[] = [
  String.raw`${PREF}Failed ${METHOD} for (?:invalid user )?<F-USER>.*</F-USER> from <HOST>${PORT}${PROTO}${DETAIL}\s*$`,
  String.raw`${PREF}[Ii]nvalid user <F-USER>.*?</F-USER> from <HOST>${PORT}${PREAUTH}`,
  String.raw`${PREF}(?:PAM: )?[Aa]uthentication (?:failure|error|failed) for (?:illegal user )?<F-USER>.*?</F-USER> from <HOST>(?: via \S+)?${PREAUTH}`,
  String.raw`${PREF}User <F-USER>.+?</F-USER> from <HOST> not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups)${PREAUTH}`,
  String.raw`${PREF}maximum authentication attempts exceeded for (?:invalid user )?<F-USER>.*?</F-USER> from <HOST>${PORT}${PROTO}${PREAUTH}`,
  String.raw`${PREF}Unable to negotiate with <HOST>${PORT}: no matching [\w -]+? found\.`,
  String.raw`${PREF}Did not receive identification string from <HOST>${PORT}\s*$`,
  String.raw`${PREF}banner exchange: Connection from <HOST>${PORT}: (?:invalid format|could not read protocol version)`,
  String.raw`${PREF}Bad protocol version identification '.*' from <HOST>${PORT}\s*$`,
  // A key offered for a user that does not exist is a probe; for a real user it is not (see above).
  String.raw`${PREF}Failed publickey for invalid user <F-USER>.*</F-USER> from <HOST>${PORT}${PROTO}${DETAIL}\s*$`,
  String.raw`${PREF}(?:PAM: )?User not known to the underlying authentication module for <F-USER>.*?</F-USER> from <HOST>${PREAUTH}`,
  String.raw`${PREF}Received disconnect from <HOST>${PORT}:\s*3: .{0,256}: Auth fail${PREAUTH}`,
  String.raw`${PREF}Disconnecting (?:invalid|authenticating) user <F-USER>\S+</F-USER> <HOST>${PORT}: Change of username or service not allowed: .{0,512}\[preauth\]\s*$`,
  String.raw`^refused connect from \S+ \(<HOST>\)\s*$`,
  ROOT_REFUSED,
  PENALTY,
];

/**
 * Connections dropped before authentication: scanners and floods (fail2ban's `ddos` mode), but
 * also clients that merely probe which methods the server offers.
 */
const ddosExtra: readonly string[] = [
  String.raw`^(?:Connection closed|Connection reset|Disconnected) (?:by|from)(?: (?:invalid|authenticating) user <F-USER>.*?</F-USER>)? <HOST>${PORT} \[preauth\]\s*$`,
];

/**
 * Everything of `ddos`, plus the pam_unix line of a wrong password and clients without a method
 * the server accepts. kex_exchange_identification and "Read from socket failed" lines name no
 * address: fleetban keeps no per-connection state across lines, so they cannot count.
 */
const aggressiveExtra: readonly string[] = [
  ...ddosExtra,
  String.raw`^pam_unix\(sshd:auth\): authentication failure;(?: (?:logname|e?uid|tty|ruser)=\S*)* rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$`,
  String.raw`${PREF}Received disconnect from <HOST>${PORT}:\s*14: No(?: supported)? authentication methods available${PREAUTH}`,
];

export const sshd: FilterDefinition = {
  description: 'OpenSSH: failed and invalid logins, refused users, key-exchange and banner probes',
  programs: ['sshd', 'sshd-session'],
  failregex: normal,
  ignoreregex: [],
  modes: {
    normal: [],
    ddos: ddosExtra,
    aggressive: aggressiveExtra,
  },
  defaultMode: 'normal',
};
