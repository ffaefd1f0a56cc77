// Built-in filter for nginx basic-auth failures (error log through nginx's syslog target, program `nginx`).
import { NGINX_CLIENT, nginxError } from './common.js';
import type { FilterDefinition } from './definition.js';

/**
 * The user name is attacker text and may hold quotes or a fake ", client: ..." part: the name is
 * matched lazily and the line is anchored at its end, so the address is always nginx's own
 * "client:" field of the real line.
 */
const auth = String.raw`${nginxError('error')}user "<F-USER>.{0,256}?</F-USER>":? (?:password mismatch|was not found in "[^"]{0,1024}")${NGINX_CLIENT}, request: "[^"]{0,8192}", host: "[^"]{0,1024}"(?:, referrer: "[^"]{0,8192}")?\s*$`;

/** Handshakes with records of impossible length are scanners, counted in aggressive mode only. */
const handshake = String.raw`${nginxError('crit')}SSL_do_handshake\(\) failed \(SSL: error:\S+(?: \S+){1,3} too (?:long|short)\)[^,]{0,256}, client: <HOST>, server: \S*\s*$`;

export const nginxHttpAuth: FilterDefinition = {
  description: 'nginx: failed basic-auth logins (aggressive: bogus TLS handshakes)',
  programs: ['nginx'],
  failregex: [auth],
  ignoreregex: [],
  modes: { normal: [], aggressive: [handshake] },
  defaultMode: 'normal',
};
