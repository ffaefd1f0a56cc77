// Built-in filter for bursts of 4xx answers in nginx and Apache access logs, one mode per status class.
import { ACCESS, ACCESS_REQUEST, ACCESS_SIZE, ACCESS_TAIL, WEB_PROGRAMS } from './common.js';
import type { FilterDefinition } from './definition.js';

/**
 * Why modes and not a per-status jail option: a jail has one window and one `maxretry`, and a
 * mode is how a filter already offers different line sets (sshd, postfix). A fleet that wants
 * 401/403 to ban after 10 and 404 after 30 runs two jails on this filter, `http-4xx` in mode
 * `denied` and `http-4xx-notfound` in mode `notfound`, each with its own maxretry and findtime
 * (both shipped in jails.d, disabled). Each counts on its own, so one client's 403s never fill
 * the 404 window. Paths no site has (/.env, /wp-login.php) are the http-badpaths filter's: one
 * such probe says more than thirty missing pages.
 *
 * The address is the line's first field (ACCESS), before any client text; the status is read
 * after the request's closing quote, which a client cannot write (ACCESS_REQUEST), so text in
 * the path, Referer or User-Agent chooses neither who is counted nor whether a 200 counts.
 */
const status = (codes: string): string =>
  String.raw`${ACCESS}${ACCESS_REQUEST} ${codes} ${ACCESS_SIZE}${ACCESS_TAIL}`;

/**
 * Missing icons and robots.txt are asked for by browsers and crawlers on their own, not by
 * the client's choice: they never count as a 404.
 */
const UNASKED = String.raw`${ACCESS}[A-Z]{1,16} /(?:favicon\.ico|apple-touch-icon[\w.-]{0,64}\.png|robots\.txt)(?:\?[^"\s]{0,1024})? HTTP/[\d.]{1,3}" `;

export const http4xx: FilterDefinition = {
  description:
    'nginx/Apache access logs: bursts of 401/403/444 (mode denied) or 404/410 (mode notfound)',
  programs: WEB_PROGRAMS,
  failregex: [],
  ignoreregex: [],
  modes: {
    // Refused: wrong or missing credentials, forbidden paths, nginx's "close without answer".
    denied: [status('(?:401|403|444)')],
    notfound: [status('(?:404|410)')],
  },
  modeIgnoreregex: { notfound: [UNASKED] },
  defaultMode: 'denied',
};
