// Built-in filter for Dovecot 2.3 (Debian 12): failed logins of imap/pop3/submission/managesieve and of its auth workers.
import type { FilterDefinition } from './definition.js';

/**
 * What Dovecot puts before the interesting part: the `dovecot: ` of a second tag, the auth
 * process (`auth: `, `auth-worker(123): `), the PAM module of pam_unix lines, the login process,
 * `Info: `, and the connection prefix of newer auth workers.
 */
const PRE = String.raw`^(?:dovecot: )?(?:auth(?:-worker)?(?:\([^)\s]{0,64}\))?: )?(?:pam_[a-z]{1,16}\(dovecot:auth\): |(?:pop3|imap|managesieve|submission|lmtp)-login: )?(?:Info: )?(?:conn [^()\s]{1,128} \([^)]{0,128}\): auth(?:-worker)?<\d+>: )?`;
const LOGOUT = String.raw`(?:Aborted login|Disconnected|Remote closed connection|Client has quit the connection)`;
/** Any reason between the event and the parenthesised summary, which may itself hold one "(…)". */
const REASON = String.raw`(?:: [^()]{0,512}(?:\([^()]{0,128}\)[^()]{0,512})?)?`;
const TAIL = String.raw`\):(?: user=<<F-USER>[^>]{0,256}</F-USER>>,)?(?: method=[\w-]{1,32},)? rip=<HOST>(?:,|\s*$)`;

const failures: readonly string[] = [
  String.raw`${PRE}authentication failure; logname=\S* uid=\S* euid=\S* tty=dovecot ruser=\S* rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$`,
  String.raw`${PRE}${LOGOUT}${REASON} \((?:auth failed, \d+ attempts(?: in \d+ secs)?|tried to use (?:disabled|disallowed) \S+ auth|proxy dest auth failed)${TAIL}`,
  String.raw`${PRE}pam\(<F-USER>[^,()]{0,256}</F-USER>,<HOST>(?:,[^)]{0,256})?\): pam_authenticate\(\) failed: (?:User not known to the underlying authentication module: \d+ Time\(s\)|Authentication failure \([Pp]assword mismatch\?\)|Permission denied)\s*$`,
  String.raw`${PRE}[a-z-]{3,15}\(<F-USER>[^,()]{0,256}</F-USER>,<HOST>(?:,[^)]{0,256})?\): (?:[Uu]nknown user|[Ii]nvalid credentials|[Pp]assword mismatch)`,
];

/** Connections that never try to log in: scanners, but also clients with broken TLS. */
const aggressive = String.raw`${PRE}${LOGOUT}${REASON} \((?:no auth attempts|disconnected before auth was ready,|client didn't finish \S+ auth,)(?: (?:in|waited) \d+ secs)?${TAIL}`;

export const dovecot: FilterDefinition = {
  description: 'Dovecot: failed IMAP/POP3/submission/sieve logins and auth-worker failures',
  programs: ['dovecot', 'dovecot-auth', 'auth'],
  failregex: failures,
  ignoreregex: [],
  modes: { normal: [], aggressive: [aggressive] },
  defaultMode: 'normal',
};
