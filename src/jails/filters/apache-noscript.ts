// Built-in filter for clients probing Apache for scripts that do not exist (PHP, CGI, ASP, EXE, Perl).
import { APACHE_ERROR, APACHE_PROGRAMS, apacheError } from './common.js';
import type { FilterDefinition } from './definition.js';

// The client comes first (apacheError); the path after it is client text and is never read for an address.
// A path that names a script: php, php4/5, php-cgi/php.cgi, .asp, .exe, .pl, or anything under cgi-bin/.
const SCRIPT = String.raw`/[^\s']{0,4096}?(?:php(?:[45]|[.-]cgi)?|\.asp|\.exe|\.pl|\bcgi-bin/)[^\s']{0,4096}`;

const pre = apacheError(APACHE_ERROR);

export const apacheNoscript: FilterDefinition = {
  description: 'Apache: requests for missing scripts (php, cgi-bin, asp, exe, pl)',
  programs: APACHE_PROGRAMS,
  failregex: [
    String.raw`${pre}(?:[Ff]ile does not exist|script not found or unable to stat): ${SCRIPT}`,
    String.raw`${pre}script '${SCRIPT}' not found or unable to stat`,
    String.raw`${pre}Got error '[Pp]rimary script unknown(?:\\n)?'`,
  ],
  ignoreregex: [],
};
