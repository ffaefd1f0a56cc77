// Built-in filter for WordPress: failed logins, XML-RPC abuse, and spam comments refused by anti-spam plugins.
import { ACCESS, ACCESS_TAIL, WEB_PROGRAMS } from './common.js';
import type { FilterDefinition } from './definition.js';

const REQUEST_END = String.raw`(?:\?[^"\s]{0,4096})? HTTP/[\d.]{1,3}"`;

/**
 * Access log lines. A failed login answers POST /wp-login.php with the form again (200); a good
 * one redirects (302), so only 200 counts. XML-RPC is how credential stuffing and pingback
 * floods reach WordPress today; every POST to xmlrpc.php counts (sites using the Jetpack app
 * should raise maxretry or turn this jail off). Antispam Bee and similar plugins refuse a spam
 * comment with 403 on wp-comments-post.php.
 */
const access: readonly string[] = [
  String.raw`${ACCESS}POST /(?:[^"\s]{0,1024}/)?wp-login\.php${REQUEST_END} 200${ACCESS_TAIL}`,
  String.raw`${ACCESS}POST /(?:[^"\s]{0,1024}/)?xmlrpc\.php${REQUEST_END} \d{3}${ACCESS_TAIL}`,
  String.raw`${ACCESS}POST /(?:[^"\s]{0,1024}/)?wp-comments-post\.php${REQUEST_END} 403${ACCESS_TAIL}`,
];

/**
 * Lines that security plugins send to syslog (WP fail2ban and its kin, tag `wordpress` or
 * `wp`): failed and blocked logins, user enumeration, XML-RPC and pingback abuse, spam.
 */
const plugins: readonly string[] = [
  String.raw`^(?:XML-RPC )?[Aa]uthentication (?:failure|attempt for unknown user) (?:for )?<F-USER>.{0,256}?</F-USER> from <HOST>\s*$`,
  String.raw`^Blocked (?:authentication attempt for <F-USER>.{0,256}?</F-USER>|user enumeration attempt|username authentication attempt for <F-USER>.{0,256}?</F-USER>) from <HOST>\s*$`,
  String.raw`^(?:XML-RPC multicall authentication failure|Pingback error \d+ generated|Spam comment \d+|Comment attempt on (?:closed|draft|password-protected|non-existent) post \d+) from <HOST>\s*$`,
];

export const wordpress: FilterDefinition = {
  description: 'WordPress: failed logins, XML-RPC abuse, spam comments refused with 403',
  // WP fail2ban-style plugins log as `wordpress(HOSTNAME)`: the pattern takes any suffix.
  programs: [...WEB_PROGRAMS, 'wordpress*', 'wp'],
  failregex: [...access, ...plugins],
  ignoreregex: [],
};
