// Built-in filter for OpenVPN 2.5/2.6 servers: failed user/password checks, refused certificates, packets without the tls-auth/tls-crypt key.
import type { FilterDefinition } from './definition.js';

/**
 * A server writes a client it has not authenticated yet as the line's prefix, `ADDR:PORT `
 * (`[AF_INET6]` before an IPv6 one in some builds; IPv6 unbracketed, the last colon group being
 * the port). Client text (the certificate's subject, the user name) only comes after it: the
 * peer is anchored at the start (docs/filters.md). An authenticated client's prefix is
 * `NAME/ADDR:PORT` with its common name first; such lines are no failures and never match.
 */
const PEER = String.raw`^(?:\[AF_INET6?\])?<HOST>:\d+ `;
/** Packets refused before any handshake name the sender last, after the daemon's own text. */
const FROM = String.raw` from \[AF_INET6?\]<HOST>:\d+\s*$`;

const failures: readonly string[] = [
  String.raw`${PEER}TLS Auth Error: Auth Username/Password verification failed for peer\s*$`,
  String.raw`${PEER}VERIFY (?:X509NAME |KU |EKU )?ERROR: `,
  String.raw`^TLS Error: (?:incoming packet authentication failed|cannot locate HMAC in incoming packet|tls-crypt unwrapping failed)${FROM}`,
];

/** Handshakes that never finish: scanners, but also clients on a bad network. */
const aggressive: readonly string[] = [
  String.raw`${PEER}TLS Error: (?:TLS handshake failed|TLS key negotiation failed to occur within \d+ seconds \(check your network connectivity\))\s*$`,
];

export const openvpn: FilterDefinition = {
  description:
    'OpenVPN server: failed user/password checks, refused certificates, unsigned packets',
  programs: ['openvpn', 'ovpn-server'],
  failregex: failures,
  ignoreregex: [],
  modes: { normal: [], aggressive },
  defaultMode: 'normal',
};
