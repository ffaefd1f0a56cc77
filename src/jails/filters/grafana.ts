// Built-in filter for Grafana 7 to 11: failed logins to the web interface.
import type { FilterDefinition } from './definition.js';

/**
 * One logfmt field. Grafana quotes every value holding a space, `=` or `"` and escapes quotes
 * inside it, so client text (a user name, a referer) is either one quoted value or one bare
 * value without spaces: it can never write a field of its own. Walking the line field by field
 * from its start, `remote_addr=` is matched only where Grafana wrote that key (docs/filters.md:
 * a delimiter the client cannot write).
 */
const FIELD = String.raw`[\w.]{1,64}=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)`;
const BEFORE = String.raw`^(?:${FIELD} )*?`;
const BETWEEN = String.raw`(?: ${FIELD})*?`;
const ADDRESS = String.raw` remote_addr=<ADDR>(?: |$)`;

/**
 * Deliberate differences from fail2ban 1.0.2's grafana filter, which reads grafana.log lines
 * starting with `t=`: fields in any order (Grafana 9+ starts with `logger=`), Grafana 10+'s
 * refused form post, and quoted values with escaped quotes.
 */
const failures: readonly string[] = [
  // Grafana up to 9: the login handler's own line.
  String.raw`${BEFORE}msg="Invalid username or password"${BETWEEN}${ADDRESS}`,
  // Grafana 10 and 11 log the refused form post as a completed request.
  String.raw`${BEFORE}msg="Request Completed"${BETWEEN} method=POST path=/login status=401${BETWEEN}${ADDRESS}`,
];

export const grafana: FilterDefinition = {
  description: 'Grafana: failed web interface logins',
  programs: ['grafana', 'grafana-server'],
  failregex: failures,
  ignoreregex: [],
};
