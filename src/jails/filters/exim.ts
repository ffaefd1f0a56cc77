// Built-in filter for Exim 4.96 (Debian 12's exim4) logging to syslog: failed AUTH, rejected senders/recipients, protocol abuse.
import type { FilterDefinition } from './definition.js';

/**
 * With `log_file_path = syslog` exim keeps its own time stamp unless `syslog_timestamp = false`,
 * may add `[pid]`, and lines about a message carry its id (old `1ahr79-0006jK-G9` or 4.97's longer form).
 */
const P = String.raw`^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?(?: [-+]\d{4})? )?(?:\[\d+\] )?(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} )?`;
/**
 * The remote end: `H=name (helo) [address]:port I=[local]:port U=ident P=esmtp F=<sender>`. The
 * HELO is client text before the address but is printed in parentheses without spaces or `)`,
 * so `[address]` right after it is exim's; sender, recipients and set_id come after it.
 */
const HOST_INFO = String.raw`(?:H=(?:[\w.-]{1,255} )?(?:\([^)\s]{0,255}\) )?)?\[<HOST>\](?::\d{1,5})?(?: I=\[[^\]\s]{1,64}\](?::\d{1,5})?)?(?: U=\S{1,64})?(?: P=e?smtpa?)?(?: F=\S{1,1024})?`;
/** A reverse name and/or a HELO before the address, when there is no `H=`. */
const NAMES = String.raw`(?:[^\[(\s]{1,255} )?(?:\([^)\s]{0,255}\) )?`;

const failures: readonly string[] = [
  String.raw`${P}${HOST_INFO} sender verify fail for <\S{0,1024}>: (?:Unknown user|Unrouteable address|all relevant MX records point to non-existent hosts)\s*$`,
  // With ident lookups on (rfc1413_hosts), the client's ident answer follows as ` U=NAME`, no spaces
  // (fail2ban 1.0.2 has no U=: a deliberate difference).
  String.raw`${P}\w{1,64} authenticator failed for ${NAMES}\[<HOST>\](?::\d{1,5})?(?: I=\[[^\]\s]{1,64}\](?::\d{1,5})?)?(?: U=\S{1,64})?: 535 Incorrect authentication data(?: \(set_id=<F-USER>.{0,256}</F-USER>\)|: \d+ Time\(s\))?\s*$`,
  String.raw`${P}${HOST_INFO} rejected RCPT \S{1,1024}: (?:relay not permitted|Sender verify failed|Unknown user|Unrouteable address)\s*$`,
  String.raw`${P}SMTP protocol synchronization error \([^)]{0,256}\): rejected (?:connection from|"\S{1,64}") ${HOST_INFO} (?:next )?input=".{0,8192}"\s*$`,
  String.raw`${P}SMTP call from ${NAMES}${HOST_INFO} dropped: too many (?:nonmail commands|syntax or protocol errors) \(last (?:command )?was "[^"]{0,1024}"\)\s*$`,
  // The quoted command is attacker text and may hold a fake H=...: the last H= before the end wins.
  String.raw`${P}SMTP protocol error in ".{0,1024}" ${HOST_INFO} AUTH command used when not advertised\s*$`,
  String.raw`${P}no MAIL in SMTP connection from ${NAMES}${HOST_INFO} D=\d\S{0,32}s(?: C=\S{0,1024})?\s*$`,
  String.raw`${P}(?:[\w-]{1,64} )?SMTP connection from ${NAMES}${HOST_INFO} closed by DROP in ACL\s*$`,
];

/**
 * Missing or forged reverse DNS is common for small legitimate senders, and so are old clients
 * that try an AUTH mechanism the server does not offer (`SMTP protocol error in "AUTH CRAM-MD5"
 * H=… CRAM-MD5 authentication mechanism not supported`; postfix counts its "Invalid
 * authentication mechanism" in aggressive mode too): aggressive mode only. The quoted command is
 * client text before the host and the mechanism after it holds no space, so no copy of the tail
 * fits after the real host.
 */
const aggressive: readonly string[] = [
  String.raw`${P}SMTP protocol error in ".*" ${HOST_INFO} [^\s"]{1,64} authentication mechanism not supported\s*$`,
  String.raw`${P}no host name found for IP address <HOST>\s*$`,
  String.raw`${P}no IP address found for host \S{1,255} \(during SMTP connection from \[<HOST>\]\)\s*$`,
];

export const exim: FilterDefinition = {
  description: 'Exim: failed AUTH, sender verify and relay rejects, SMTP protocol abuse',
  programs: ['exim', 'exim4'],
  failregex: failures,
  ignoreregex: [],
  modes: { normal: [], aggressive },
  defaultMode: 'normal',
};
