// Regex fragments shared by the built-in filters: web access/error log layouts as they arrive through syslog.
import { runExcept } from './regex-text.js';

/**
 * Start of a combined/common access log line (nginx, apache): optional `vhost:port ` (apache's
 * vhost_combined), client, ident, user, [time], then the opening quote of the request. The client
 * is the line's first field, before any client text (user, request, Referer, User-Agent): it is
 * anchored at the start (docs/filters.md).
 */
export const ACCESS = String.raw`^(?:[\w.-]{1,253}(?::\d{1,5})? )?<HOST> \S+ \S+ \[[^\]]{1,64}\] "`;

/** The rest of an access line after the status: size, then referrer/agent and any extra fields. */
export const ACCESS_TAIL = String.raw`(?: .{0,8192})?$`;

/** Request methods counted for web probes. */
export const METHOD = '(?:GET|POST|HEAD)';

/**
 * The client comes before the message and its client text (user names, paths), so it is anchored
 * at the start of the line (docs/filters.md). Start of an Apache 2.4 error log line: the `[time] ` that piped logs keep and `ErrorLog syslog`
 * drops, `[module:level]`, `[pid N:tid N]`, an optional `[remote ...]` (behind a proxy), then the
 * client. An IPv6 client is logged as `[client 2001:db8::1:54321]`: the port is taken off when
 * it has five digits, as Linux ephemeral ports do; a four-digit port stays ambiguous.
 */
export function apacheError(level: string): string {
  return String.raw`^(?:\[[^\]]{1,64}\] )?\[${level}\](?: \[pid \d+(?::tid \d+)?\])?(?: \[remote [^\]\s]{1,64}\])? \[client <HOST>(?::\d{1,5})?\] (?:AH\d{5}: )?`;
}

/** Apache's module:level bracket for the normal modes: any module and level except mod_evasive's. */
export const APACHE_ERROR = String.raw`(?:error|${runExcept(String.raw`[\w-]`, 0, 32, 'evasive', 'prefix')}:\w{1,10})`;

/** Start of an nginx error log line: `yyyy/mm/dd hh:mm:ss ` (kept or not by the syslog writer), `[level] pid#tid: *conn `. */
export function nginxError(level: string): string {
  return String.raw`^(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?\[${level}\] \d+#\d+: (?:\*\d+ )?`;
}

/**
 * The `, client: ADDR, server: NAME` part of nginx error lines. Client text may come both before
 * it (user names, decoded paths) and after it (request, Host, Referer, all unescaped): each
 * pattern using it must say what keeps a copy from being taken (docs/filters.md).
 */
export const NGINX_CLIENT = String.raw`, client: <HOST>, server: \S*`;

/** Syslog program names of web servers: nginx's `syslog:` target, apache's ErrorLog syslog and logger pipes. */
export const WEB_PROGRAMS: readonly string[] = ['nginx', 'apache2', 'apache', 'httpd'];
export const APACHE_PROGRAMS: readonly string[] = ['apache2', 'apache', 'httpd'];

/**
 * The request field of an access line, up to its closing quote. nginx writes a quote or
 * backslash in it as `\x22`/`\x5C` and Apache as `\"`/`\\`, so the field ends at the first quote
 * that no backslash escapes: a fake `" 404 ` written into the request (or into the Referer and
 * User-Agent after it) cannot pass for the status. The status read after it is the daemon's.
 */
export const ACCESS_REQUEST = String.raw`(?:[^"\\]|\\.){0,8192}"`;

/** The response size after the status: bytes, or `-` (Apache's %b for an empty body). */
export const ACCESS_SIZE = String.raw`(?:\d{1,20}|-)`;
