// Built-in filter for Apache 2.4 authentication and access-control errors (error log via syslog or a logger pipe).
import { APACHE_ERROR, APACHE_PROGRAMS, apacheError } from './common.js';
import type { FilterDefinition } from './definition.js';

// Digest messages start with "Digest: "; user names may be empty ("user  not found") or hold spaces.
const AUTH = '(?:[A-Z][a-z]+: )?';
const USER = '<F-USER>.{0,256}?</F-USER>';
/** The same, for the unquoted form: a name that starts with a backquote is the realm form below. */
const UNQUOTED_USER = String.raw`<F-USER>(?:[^\x60\n\r\u2028\u2029].{0,255}?)??</F-USER>`;

function patterns(level: string): string[] {
  const pre = apacheError(level);
  return [
    String.raw`${pre}client (?:denied by server configuration|used wrong authentication scheme)\b`,
    String.raw`${pre}${AUTH}user ${UNQUOTED_USER}:? (?:auth(?:oriz|entic)ation failure|not found|denied by provider)\b`,
    String.raw`${pre}Authorization of user ${USER} to access .{0,4096}? failed\b`,
    String.raw`${pre}${AUTH}user ${USER}: password mismatch\b`,
    String.raw`${pre}${AUTH}user \x60${USER}' in realm \x60.{0,256}' (?:auth(?:oriz|entic)ation failure|not found|denied by provider)\b`,
    String.raw`${pre}${AUTH}invalid nonce .{0,1024}? received - (?:length is not\b|user attempted time travel)`,
    String.raw`${pre}${AUTH}realm mismatch - got \x60[^']{0,256}' but expected\b`,
    String.raw`${pre}${AUTH}unknown algorithm \x60[^']{0,256}' received\b`,
    String.raw`${pre}${AUTH}invalid qop \x60[^']{0,256}' received\b`,
    String.raw`${pre}(?:No hostname was provided via SNI for a name based virtual host|Hostname \S+ provided via SNI(?:, but no hostname provided| and hostname \S+ provided))\b`,
  ];
}

/**
 * mod_evasive answers a flood with "client denied by server configuration" under its own module
 * name: normal mode leaves those to the flood's own jail, aggressive counts them as well.
 */
export const apacheAuth: FilterDefinition = {
  description: 'Apache: failed basic/digest logins, denied clients, SNI host mismatches',
  programs: APACHE_PROGRAMS,
  failregex: patterns(APACHE_ERROR),
  ignoreregex: [],
  modes: {
    normal: [],
    aggressive: [
      String.raw`${apacheError('evasive\\d*:error')}client denied by server configuration\b`,
    ],
  },
  defaultMode: 'normal',
};
