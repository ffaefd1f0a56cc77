// Built-in filter for nginx basic-auth failures (error log through nginx's syslog target, program `nginx`).
import { NGINX_CLIENT, nginxError } from './common.js';
import type { FilterDefinition } from './definition.js';

/**
 * Attacker text lies on both sides of the address: the user name before it, the request line,
 * Host and Referer after it, all written unescaped. Anchoring on the end is therefore unsound
 * (a Referer can rebuild a whole fake tail), so the address is anchored from the left: nginx
 * cuts the Basic user name at its first colon, so the name can never hold ", client:" and the
 * first "client:" after it is nginx's own. What follows the address is not inspected.
 */
const auth = String.raw`${nginxError('error')}user "<F-USER>[^:]{0,256}</F-USER>":? (?:password mismatch|was not found in "[^"]{0,1024}")${NGINX_CLIENT}, request: "`;

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
