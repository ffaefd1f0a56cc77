// Built-in filter for Sendmail 8.17 (Debian 12) SMTP AUTH failures and AUTH attacks.
import type { FilterDefinition } from './definition.js';

/** Queue id, then sendmail's client form: `name [addr]`, `[addr]`, `[IPv6:addr]`, maybe "(may be forged)". */
const QID = String.raw`^(?:\w{14,20}: )?`;
const ADDR = String.raw`\[(?:IPv6:)?<ADDR>\](?: \(may be forged\))?`;

export const sendmailAuth: FilterDefinition = {
  description: 'Sendmail: SMTP AUTH failures and AUTH attacks',
  programs: ['sendmail', 'sm-mta', 'sm-acceptingconnections', 'sm-msp-queue'],
  failregex: [
    String.raw`${QID}(?:\S{1,255} )?${ADDR}: possible SMTP attack: command=AUTH, count=\d+\s*$`,
    // The relay= of the real client is the last one; a user name may hold a fake relay=[...].
    String.raw`${QID}AUTH failure \([^)]{1,64}\):(?: [^:]{1,256}:)? (?:authentication failure|user not found): [^,]{0,1024}, (?:user=<F-USER>.{0,256}?</F-USER>, )?relay=(?:\S{1,255} )?${ADDR}\s*$`,
  ],
  ignoreregex: [],
};
