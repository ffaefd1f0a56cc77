// Built-in filters for the Courier mail server: IMAP/POP3 login failures and ESMTP rejects.
import type { FilterDefinition } from './definition.js';

/**
 * Courier prints the client as `ip=[::ffff:192.0.2.1]`, other fields before it. The user name
 * is matched lazily and the line is anchored at its end, so a name holding ", ip=[...]" cannot
 * choose the address.
 */
export const courierAuth: FilterDefinition = {
  description: 'Courier IMAP/POP3: failed logins',
  programs: [
    'imapd',
    'imapd-ssl',
    'pop3d',
    'pop3d-ssl',
    'courierimaplogin',
    'courierpop3login',
    'courier-imapd',
    'courier-pop3d',
  ],
  failregex: [
    String.raw`^LOGIN FAILED, (?:method=[\w-]{1,32}, )?(?:user=<F-USER>.{0,256}?</F-USER>, )?ip=\[<HOST>\](?:, port=\[\d{1,5}\])?\s*$`,
  ],
  ignoreregex: [],
};

/** The relay is the line's first field, before the client's sender and recipient: anchored at the start. */
const RELAY = String.raw`^error,relay=<HOST>,(?:port=\d{1,5},)?`;

export const courierSmtp: FilterDefinition = {
  description: 'Courier ESMTP: unknown recipients and failed AUTH',
  programs: ['courieresmtpd'],
  failregex: [
    String.raw`${RELAY}[^:]{0,2048}: 550 User (?:<[^>]{0,256}> )?unknown\.?\s*$`,
    String.raw`${RELAY}msg="535 Authentication failed\.",cmd:`,
  ],
  ignoreregex: [],
};
