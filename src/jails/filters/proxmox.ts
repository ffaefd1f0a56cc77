// Built-in filter for Proxmox VE 7/8 and Proxmox Backup Server: failed logins to the web interface and API.
import type { FilterDefinition } from './definition.js';

/**
 * `authentication failure; rhost=ADDR user=NAME@REALM msg=REASON`: pvedaemon writes the client
 * bare (`::ffff:203.0.113.5`), PBS bracketed with its port (`[::ffff:203.0.113.5]:43210`). The
 * user name and the reason (which may repeat the name) are client text after the address, which
 * comes first: anchored at the start (docs/filters.md).
 */
const failures: readonly string[] = [
  String.raw`^authentication failure; rhost=(?:\[<ADDR>\]:\d+|<ADDR>) user=<F-USER>.*?</F-USER>(?: msg=.*)?$`,
];

export const proxmox: FilterDefinition = {
  description: 'Proxmox VE and Backup Server: failed web interface and API logins',
  programs: ['pvedaemon', 'pveproxy', 'proxmox-backup-proxy', 'proxmox-backup-api'],
  failregex: failures,
  ignoreregex: [],
};
