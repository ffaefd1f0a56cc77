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
/**
 * The login summary: `user=<NAME>, method=M, rip=ADDR, lip=…, session=<…>`. The name is the
 * client's text, unescaped (`>` and ", rip=" included) and written BEFORE the address; nothing
 * after rip= is the client's. The name is matched greedily over the whole line, so the last
 * `>, rip=` (Dovecot's own) gives the address.
 */
const TAIL = String.raw`\):(?: user=<<F-USER>.*</F-USER>>,)?(?: method=[\w-]{1,32},)? rip=<HOST>(?:,|\s*$)`;
/**
 * Auth process lines: `passdb(NAME,ADDR[,master][,<session>]): message`. The name may hold
 * commas and parentheses and comes first; the line is anchored at its end on Dovecot's own
 * message and the name is greedy, so the last `,ADDR…): message` is the real one. Only the
 * SHA1 form of auth_verbose_passwords may follow: a plain password there would be client text
 * after the address.
 */
const PASSDB = String.raw`\(<F-USER>.*</F-USER>,<HOST>(?:,[^)]{0,256})?\): `;
const VERBOSE = String.raw`(?: \(SHA1 of given password: [0-9a-f]{1,64}\))?\s*$`;

/** pam_unix names the user twice, ruser= before and user= after the address: `ruser=\S*` cannot cross " rhost=". */
const failures: readonly string[] = [
  String.raw`${PRE}authentication failure; logname=\S* uid=\S* euid=\S* tty=dovecot ruser=\S* rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$`,
  String.raw`${PRE}${LOGOUT}${REASON} \((?:auth failed, \d+ attempts(?: in \d+ secs)?|tried to use (?:disabled|disallowed) \S+ auth|proxy dest auth failed)${TAIL}`,
  String.raw`${PRE}pam${PASSDB}pam_authenticate\(\) failed: (?:User not known to the underlying authentication module: \d+ Time\(s\)|Authentication failure \([Pp]assword mismatch\?\)|Permission denied)\s*$`,
  String.raw`${PRE}[a-z-]{3,15}${PASSDB}(?:[Uu]nknown user|[Ii]nvalid credentials|[Pp]assword mismatch)${VERBOSE}`,
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
