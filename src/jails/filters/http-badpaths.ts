// Built-in filter for probes of paths that scanners try on every web server (/.env, /.git/, /phpmyadmin, /wp-login.php…), answered 403/404/410/444.
import { ACCESS, ACCESS_SIZE, ACCESS_TAIL, WEB_PROGRAMS } from './common.js';
import type { FilterDefinition } from './definition.js';

/** `name` in any letter case, for names scanners vary (phpMyAdmin, PMA, hnap1). */
function anyCase(name: string): string {
  return name.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}

/**
 * The list, one path segment (or two) each. A name matches a whole segment at any depth
 * (`/.env`, `/api/.env`, `/blog/wp-login.php`), never the middle of one, so that an article
 * `/how-to-install-phpmyadmin` is not a probe.
 */
export const BAD_PATHS: readonly string[] = [
  // Secrets and version control left in the web root.
  String.raw`\.env(?:\.[\w-]{1,32})?`,
  String.raw`\.git(?:/[^\s"?]{0,256})?`,
  String.raw`\.svn`,
  String.raw`\.hg`,
  String.raw`\.aws`,
  String.raw`\.ssh`,
  String.raw`\.DS_Store`,
  String.raw`\.vscode/sftp\.json`,
  String.raw`sftp-config\.json`,
  String.raw`wp-config\.php[\w.~-]{0,32}`,
  // Database admin front ends.
  String.raw`${anyCase('phpmyadmin')}(?:[-_.]?\d[\d.]{0,16})?`,
  anyCase('pma'),
  anyCase('myadmin'),
  anyCase('mysqladmin'),
  String.raw`adminer(?:-[\d.]{1,16})?\.php`,
  // Admin pages and debug endpoints of frameworks the site may not run.
  String.raw`admin\.php`,
  String.raw`vendor/phpunit`,
  String.raw`_ignition/execute-solution`,
  'actuator',
  'server-status',
  'server-info',
  String.raw`phpinfo\.php`,
  // Routers, NAS and IoT firmware.
  'cgi-bin',
  'boaform',
  anyCase('hnap1'),
  'GponForm',
  String.raw`manager/html`,
];

/**
 * WordPress's own paths: a probe on a site without WordPress, and the everyday traffic of a site
 * with it. Mode `wordpress` leaves them out for such a site (its failed logins are the wordpress
 * filter's). `wp-config.php.bak` and other copies stay in every mode: no site serves them.
 */
export const WORDPRESS_PATHS: readonly string[] = [
  String.raw`wp-login\.php`,
  String.raw`xmlrpc\.php`,
  'wp-admin',
  'wp-includes',
  'wp-content',
  String.raw`wlwmanifest\.xml`,
];

/**
 * Only the request path is read: the name is a segment of the path, which ends at `?` (the query
 * is client text that may name anything) or at the space before the protocol. The path holds no
 * quote or space (nginx writes a quote as \x22, Apache as \"), so the pattern cannot run past
 * the request into the Referer or User-Agent, and the status after the request's closing quote
 * is the daemon's. The address is the first field (ACCESS). Only 403, 404, 410 and 444 count: a
 * site that has the path answers 200 or a redirect and is not being probed.
 */
const probe = (names: readonly string[]): string =>
  String.raw`${ACCESS}[A-Z]{1,16} /(?:[^\s"?]{0,2048}/)?(?:${names.join('|')})(?:[/?][^\s"]{0,4096})? HTTP/[\d.]{1,3}" (?:403|404|410|444) ${ACCESS_SIZE}${ACCESS_TAIL}`;

/**
 * A jail that serves some other path on the list drops it with an inline ignoreregex anchored the
 * same way, for example `"ignoreregex": ["^\\S+ \\S+ \\S+ \\[[^\\]]+\\] \"[A-Z]+ /phpmyadmin[/? ]"`
 * (README, fleetban-jail(5)): anchored on the request, so that a User-Agent naming the path does
 * not hide a probe.
 */
export const httpBadpaths: FilterDefinition = {
  description: 'nginx/Apache access logs: probes of well-known bad paths answered 403/404/410/444',
  programs: WEB_PROGRAMS,
  // One pattern per mode, not the list plus WordPress's as two: a line that matches neither is
  // read once, not twice (most lines: about twice the lines a second).
  failregex: [],
  ignoreregex: [],
  modes: {
    normal: [probe([...BAD_PATHS, ...WORDPRESS_PATHS])],
    wordpress: [probe(BAD_PATHS)],
  },
  defaultMode: 'normal',
};
