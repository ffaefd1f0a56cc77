// Built-in filter for Nextcloud 20 to 30 logging to syslog or journald (log_type syslog/systemd): failed logins.
import type { FilterDefinition } from './definition.js';

/**
 * Nextcloud writes each entry as one JSON object: `{"reqId":…,"remoteAddr":"ADDR","user":…,
 * "url":…,"message":"Login failed: NAME (Remote IP: ADDR)","userAgent":…}`. Client text (the
 * login name, URL, user agent) is JSON-escaped, so it cannot write `":"` and no copy of
 * `"remoteAddr":"` or `"message":"` can come from it: the keys are a delimiter the client cannot
 * write (docs/filters.md). The address is taken from the remoteAddr key, which Nextcloud fills
 * with the client behind its trusted proxies, as it does the one in the message.
 */
const ENTRY = String.raw`^\{"reqId":"[^"]*",.*"remoteAddr":"<HOST>",.*"message":"`;

const failures: readonly string[] = [String.raw`${ENTRY}Login failed: `];

export const nextcloud: FilterDefinition = {
  description: 'Nextcloud: failed logins',
  programs: ['Nextcloud', 'nextcloud'],
  failregex: failures,
  ignoreregex: [],
};
