// Built-in filter for Cockpit (cockpit-session, 276 to 330): failed web console logins, as PAM reports them.
import type { FilterDefinition } from './definition.js';

/**
 * cockpit-session hands the browser's address to PAM (PAM_RHOST), and pam_unix logs the
 * refusal under the `cockpit` service. The fields before rhost= are PAM's, in a fixed order, and
 * `ruser=\S*` cannot cross " rhost="; the user name after the address is the client's and may
 * not hold a space (docs/filters.md: a PAM line whose user name holds a space is not matched).
 */
const failures: readonly string[] = [
  String.raw`^pam_unix\(cockpit:auth\): authentication failure;(?: (?:logname|e?uid|tty|ruser)=\S*)* rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$`,
];

export const cockpit: FilterDefinition = {
  description: 'Cockpit web console: failed logins',
  programs: ['cockpit-session'],
  failregex: failures,
  ignoreregex: [],
};
