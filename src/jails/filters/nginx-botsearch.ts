// Built-in filter for scanners looking for webmail, phpMyAdmin, WordPress and CGI paths that the site does not have.
import { ACCESS, ACCESS_TAIL, METHOD, NGINX_CLIENT, nginxError } from './common.js';
import type { FilterDefinition } from './definition.js';

const WEBMAIL = '(?:roundcube|(?:ext)?mail|horde|(?:v-?)?webmail)';
const PHPMYADMIN = '(?:typo3/|xampp/|admin/)?(?:pma|(?:php)?[Mm]y[Aa]dmin)';
const WORDPRESS = String.raw`wp-(?:login|signup|admin)\.php`;
/** A probed path: one leading slash or two, then a well-known target. */
const BLOCK = String.raw`//?(?:${WEBMAIL}|${PHPMYADMIN}|${WORDPRESS}|cgi-bin|mysqladmin)[^\s",]{0,4096}`;

/**
 * In the error line nginx writes the DECODED path (%22 is a quote) before the address and the
 * raw request, Host and Referer after it, none escaped: a crafted path can carry a whole fake
 * `" failed (…), client: ADDR, …, request: "…"` before the real one. The pattern takes the path
 * greedily (the last `" failed (2: …), client:` wins) and is anchored at the end on fields that
 * hold no quote: the raw request line of a probe has no quote, space or comma, and nginx's own
 * quoted `request: "…"` and `host: "…"` always follow a fake copy in the path, which a quote-free
 * field cannot swallow. A Referer or Host holding a quote leaves the error line uncounted (the
 * access line, where nginx escapes quotes, still counts).
 */
const REFERRER_TAIL = String.raw`(?:, host: "[^"]{0,1024}")?(?:, referrer: "[^"]{0,8192}")?\s*$`;

/** Only answers 404 count: a site that has such a path answers differently and is not probed. */
export const nginxBotsearch: FilterDefinition = {
  description: 'nginx: 404s for webmail, phpMyAdmin, WordPress and cgi-bin probes',
  programs: ['nginx'],
  failregex: [
    String.raw`${ACCESS}${METHOD} ${BLOCK} HTTP/[\d.]{1,3}" 404${ACCESS_TAIL}`,
    String.raw`${nginxError('error')}(?:open\(\) )?".+" (?:failed|is not found) \(2: No such file or directory\)${NGINX_CLIENT}, request: "${METHOD} ${BLOCK} HTTP/[\d.]{1,3}"${REFERRER_TAIL}`,
  ],
  ignoreregex: [],
};
