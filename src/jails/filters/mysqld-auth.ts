// Built-in filter for MariaDB 10.11 (Debian 12) and MySQL refused logins.
import type { FilterDefinition } from './definition.js';

const PRE = String.raw`^(?:(?:\d{6}|\d{4}-\d\d-\d\d)[ T] ?\d{1,2}:\d\d:\d\d(?:\.\d{1,6})?Z? )?(?:\d+ )?\[\w{1,16}\] (?:\[[^\]]{1,64}\] ){0,3}Access denied for user '`;

/**
 * `[Warning] Access denied for user 'x'@'address'`. A host name in place of the address (when
 * the server resolves names) is not matched: fleetban bans addresses only. The user name is the
 * client's text, unquoted and unescaped, written BEFORE the address:
 * - a refused login ends with the server's own `(using password: YES|NO)`: the name is greedy
 *   and the line end-anchored, so the last `'@'ADDR' (using password…)` is the server's;
 * - `to database 'DB'` ends with a client-chosen name, so there the user name may not hold a
 *   quote and the first `'@'` is the server's (such a line always ends in a quote, never in
 *   `)`, so the first pattern cannot take it).
 */
export const mysqldAuth: FilterDefinition = {
  description: 'MariaDB/MySQL: access denied',
  programs: ['mysqld', 'mariadbd', 'mariadb'],
  failregex: [
    // One pattern, so the common prefix is read once per line.
    String.raw`${PRE}(?:<F-USER>.*</F-USER>'@'<HOST>' \(using password: (?:YES|NO)\)|<F-USER>[^']{0,256}</F-USER>'@'<HOST>' to database '.{0,256}')\s*$`,
  ],
  ignoreregex: [],
};
