// Built-in filters for the FTP servers Debian 12 ships: vsftpd 3.0, ProFTPD 1.3.8, Pure-FTPd 1.0.50.
import type { FilterDefinition } from './definition.js';

/**
 * The PAM line holds the user name twice (ruser=NAME before the address, user=NAME after it);
 * `ruser=\S*` cannot cross " rhost=", so a name with spaces makes the line not match rather
 * than move the address.
 */
export const vsftpd: FilterDefinition = {
  description: 'vsftpd: failed logins (PAM and its own FAIL LOGIN lines)',
  programs: ['vsftpd'],
  failregex: [
    String.raw`^(?:\(?pam_[a-z]{1,16}(?:\(\S{1,64}\))?\)?:?\s+)?authentication failure; logname=\S* uid=\S* euid=\S* tty=(?:ftp)? ruser=\S* rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$`,
    // vsftpd's own log (syslog_enable=YES or a forwarded vsftpd.log) names the user in brackets,
    // unescaped, BEFORE the address; after `Client "ADDR"` comes only vsftpd's own reason. The
    // user is matched greedily over the whole line and the line is anchored at its end, so the
    // last `] FAIL LOGIN: Client "…"` (vsftpd's) wins over any copy inside the user name.
    String.raw`^(?:\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} )?\[pid \d+\] \[<F-USER>.*</F-USER>\] FAIL LOGIN: Client "<HOST>"(?:, "[^"]{0,256}")?\s*$`,
  ],
  ignoreregex: [],
};

const PROFTPD_FAILED = String.raw`(?:[uU]ser not authorized for login|[nN]o such user found|[iI]ncorrect password|[pP]assword expired|[aA]ccount disabled|[iI]nvalid shell: '\S+'|[uU]ser in \S+|[lL]imit (?:access|configuration) denies login|[nN]ot a UserAlias|[mM]aximum login length exceeded)`;
/**
 * `servername (clientname[address]) - ` starts every session line. The client name is a DNS
 * name or the address; user names are attacker text, so the address comes from that prefix.
 */
const PROFTPD_PRE = String.raw`^\S{1,255} \([^\[\s]{0,255}\[<HOST>\]\)[: -]{1,3} `;

export const proftpd: FilterDefinition = {
  description: 'ProFTPD: failed logins, root login attempts, too many attempts',
  programs: ['proftpd'],
  failregex: [
    String.raw`${PROFTPD_PRE}USER <F-USER>.{0,256}?</F-USER>(?: \(Login failed\))?: ${PROFTPD_FAILED}`,
    String.raw`${PROFTPD_PRE}SECURITY VIOLATION: <F-USER>.{0,256}?</F-USER> login attempted`,
    String.raw`${PROFTPD_PRE}Maximum login attempts \(\d+\) exceeded`,
  ],
  ignoreregex: [],
};

/**
 * The `(?@address)` prefix comes before the client's user name and is anchored at the start.
 * Pure-FTPd prints `(user@address) [WARNING] Authentication failed for user [name]`, translated
 * when it was built with another language. Debian builds it in English, so only the English
 * message is matched (fail2ban also lists the translations).
 */
export const pureFtpd: FilterDefinition = {
  description: 'Pure-FTPd: failed logins',
  programs: ['pure-ftpd'],
  failregex: [
    String.raw`^\([^@()\s]{0,256}@<HOST>\) \[WARNING\] Authentication failed for user \[<F-USER>.{0,256}</F-USER>\]\s*$`,
  ],
  ignoreregex: [],
};
