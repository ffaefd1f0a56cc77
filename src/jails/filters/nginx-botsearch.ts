// Built-in filter for scanners looking for webmail, phpMyAdmin, WordPress and CGI paths that the site does not have.
import { ACCESS, ACCESS_TAIL, METHOD, NGINX_CLIENT, nginxError } from './common.js';
import type { FilterDefinition } from './definition.js';

const WEBMAIL = '(?:roundcube|(?:ext)?mail|horde|(?:v-?)?webmail)';
const PHPMYADMIN = '(?:typo3/|xampp/|admin/)?(?:pma|(?:php)?[Mm]y[Aa]dmin)';
const WORDPRESS = String.raw`wp-(?:login|signup|admin)\.php`;
/** A probed path: one leading slash or two, then a well-known target. */
const BLOCK = String.raw`//?(?:${WEBMAIL}|${PHPMYADMIN}|${WORDPRESS}|cgi-bin|mysqladmin)[^\s",]{0,4096}`;

/** Only answers 404 count: a site that has such a path answers differently and is not probed. */
export const nginxBotsearch: FilterDefinition = {
  description: 'nginx: 404s for webmail, phpMyAdmin, WordPress and cgi-bin probes',
  programs: ['nginx'],
  failregex: [
    String.raw`${ACCESS}${METHOD} ${BLOCK} HTTP/[\d.]{1,3}" 404${ACCESS_TAIL}`,
    String.raw`${nginxError('error')}(?:open\(\) )?"[^"]{1,4096}" (?:failed|is not found) \(2: No such file or directory\)${NGINX_CLIENT}, request: "${METHOD} ${BLOCK} HTTP/[\d.]{1,3}"(?:, .{0,8192})?$`,
  ],
  ignoreregex: [],
};
