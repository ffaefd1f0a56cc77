// Built-in filter for MariaDB 10.11 (Debian 12) and MySQL refused logins.
import type { FilterDefinition } from './definition.js';

/**
 * `[Warning] Access denied for user 'x'@'address'`. A host name in place of the address (when
 * the server resolves names) is not matched: fleetban bans addresses only.
 */
export const mysqldAuth: FilterDefinition = {
  description: 'MariaDB/MySQL: access denied',
  programs: ['mysqld', 'mariadbd', 'mariadb'],
  failregex: [
    String.raw`^(?:(?:\d{6}|\d{4}-\d\d-\d\d)[ T] ?\d{1,2}:\d\d:\d\d(?:\.\d{1,6})?Z? )?(?:\d+ )?\[\w{1,16}\] (?:\[[^\]]{1,64}\] ){0,3}Access denied for user '<F-USER>[^']{0,256}</F-USER>'@'<HOST>' (?:to database '[^']{0,256}'|\(using password: (?:YES|NO)\))\s*$`,
  ],
  ignoreregex: [],
};
