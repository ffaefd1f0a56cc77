// The built-in filter library: add a filter by writing its file here and listing it below.
import { ErrorCode, FleetbanError } from '../../core/errors.js';
import {
  FilterSource,
  type FilterDefinition,
  type FilterRegistry,
  type ResolvedFilter,
} from './definition.js';
import { apacheAuth } from './apache-auth.js';
import { apacheBadbots } from './apache-badbots.js';
import { apacheNoscript } from './apache-noscript.js';
import { asterisk } from './asterisk.js';
import { cockpit } from './cockpit.js';
import { courierAuth, courierSmtp } from './courier.js';
import { cyrusImap } from './cyrus-imap.js';
import { dovecot } from './dovecot.js';
import { dropbear } from './dropbear.js';
import { exim } from './exim.js';
import { proftpd, pureFtpd, vsftpd } from './ftp.js';
import { gitea } from './gitea.js';
import { grafana } from './grafana.js';
import { httpBadpaths } from './http-badpaths.js';
import { http4xx } from './http-4xx.js';
import { mysqldAuth } from './mysqld-auth.js';
import { namedRefused } from './named-refused.js';
import { nextcloud } from './nextcloud.js';
import { nginxBotsearch } from './nginx-botsearch.js';
import { nginxHttpAuth } from './nginx-http-auth.js';
import { nginxLimitReq } from './nginx-limit-req.js';
import { opensmtpd } from './opensmtpd.js';
import { openvpn } from './openvpn.js';
import { postfix } from './postfix.js';
import { proxmox } from './proxmox.js';
import { recidive } from './recidive.js';
import { roundcubeAuth } from './roundcube-auth.js';
import { sendmailAuth } from './sendmail-auth.js';
import { sshd } from './sshd.js';
import { uwimapAuth } from './uwimap-auth.js';
import { wordpress } from './wordpress.js';

export type {
  FilterDefinition,
  FilterRegistry,
  ResolvedFilter,
  SessionDefinition,
} from './definition.js';
export { FilterSource } from './definition.js';

/** Names are fail2ban's filter names, so `filter = NAME` means the same service in both. */
export const builtinFilters: FilterRegistry = Object.freeze({
  sshd,
  'apache-auth': apacheAuth,
  'apache-badbots': apacheBadbots,
  'apache-noscript': apacheNoscript,
  'nginx-http-auth': nginxHttpAuth,
  'nginx-limit-req': nginxLimitReq,
  'nginx-botsearch': nginxBotsearch,
  postfix,
  'courier-auth': courierAuth,
  'courier-smtp': courierSmtp,
  dovecot,
  exim,
  'sendmail-auth': sendmailAuth,
  vsftpd,
  proftpd,
  'pure-ftpd': pureFtpd,
  wordpress,
  'mysqld-auth': mysqldAuth,
  recidive,
  dropbear,
  'named-refused': namedRefused,
  openvpn,
  proxmox,
  gitea,
  grafana,
  nextcloud,
  asterisk,
  'cyrus-imap': cyrusImap,
  opensmtpd,
  'uwimap-auth': uwimapAuth,
  'roundcube-auth': roundcubeAuth,
  cockpit,
  'http-4xx': http4xx,
  'http-badpaths': httpBadpaths,
});

/** The modes a filter accepts ('' alone when it has none). */
export function filterModes(def: FilterDefinition): string[] {
  return def.modes === undefined ? [''] : Object.keys(def.modes);
}

/**
 * A filter with its mode applied. `mode` undefined = the filter's default mode.
 * Throws FILTER_UNKNOWN for a name or mode the registry does not have.
 */
export function resolveFilter(
  name: string,
  mode?: string,
  registry: FilterRegistry = builtinFilters,
): ResolvedFilter {
  const def = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (def === undefined) {
    const known = Object.keys(registry).sort().join(', ');
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `unknown filter "${name}" (built-in filters: ${known})`,
    );
  }
  const chosen = mode ?? def.defaultMode ?? '';
  let extra: readonly string[] = [];
  if (def.modes !== undefined) {
    const found = Object.hasOwn(def.modes, chosen) ? def.modes[chosen] : undefined;
    if (found === undefined) {
      const known = Object.keys(def.modes).join(', ');
      throw new FleetbanError(
        ErrorCode.FILTER_UNKNOWN,
        `filter "${name}" has no mode "${chosen}" (modes: ${known})`,
      );
    }
    extra = found;
  } else if (chosen !== '') {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `filter "${name}" has no modes, got mode "${chosen}"`,
    );
  }
  const byMode = def.modeIgnoreregex;
  const modeIgnore =
    byMode !== undefined && Object.hasOwn(byMode, chosen) ? (byMode[chosen] ?? []) : [];
  return {
    name,
    mode: chosen,
    source: def.source ?? FilterSource.SYSLOG,
    programs: def.programs,
    failregex: [...def.failregex, ...extra],
    ignoreregex: [...def.ignoreregex, ...modeIgnore],
    ...(def.sessions === undefined ? {} : { sessions: def.sessions }),
  };
}
