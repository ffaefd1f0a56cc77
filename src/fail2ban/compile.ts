// Turns a fail2ban filter's regex text into runnable patterns: <HOST>/<F-…> tags as fail2ban resolves them, then Python → JavaScript.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { PyRegExp, translatePythonRegex } from './regex.js';
import { checkRegexSafety } from './regex-guard.js';

const IP4 = String.raw`(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})`;
const IP6 = String.raw`(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):))`;
const DNS = String.raw`(?P<dns>[\w\-.^_]*\w)`;
const ADDR = String.raw`\[?(?:${IP4}|${IP6})\]?`;
const CIDR = String.raw`(?P<cidr>\d+)`;

const FIXED_TAGS: Readonly<Record<string, string>> = {
  IP4,
  'F-IP4/': IP4,
  IP6,
  'F-IP6/': IP6,
  ADDR,
  'F-ADDR/': ADDR,
  CIDR,
  'F-CIDR/': CIDR,
  SUBNET: String.raw`\[?(?:${IP4}|${IP6})(?:/${CIDR})?\]?`,
  'F-SUBNET/': String.raw`\[?(?:${IP4}|${IP6})(?:/${CIDR})?\]?`,
  DNS,
  'F-DNS/': DNS,
  'F-ID/': String.raw`(?P<fid>\S+)`,
  'F-PORT/': String.raw`(?P<fport>\w+)`,
};

const TAG_NAMES: Readonly<Record<string, string>> = { id: 'fid', port: 'fport' };

/**
 * fail2ban's _resolveHostTag: `<HOST>` is an address, or also a host name unless usedns is
 * `no`; `<F-NAME>…</F-NAME>` becomes the named group `name` (`id` → `fid`); `<SKIPLINES>`
 * swallows whole lines. Unknown tags stay as they are.
 */
export function resolveTags(regex: string, useDns: string): string {
  const open = new Set<string>();
  let skip = 0;
  return regex.replace(/<\/?[\w-]+\/?>/g, (tag) => {
    const name = tag.slice(1, -1);
    if (name === 'HOST') return useDns === 'no' ? ADDR : `(?:${ADDR}|${DNS})`;
    if (name === 'SKIPLINES') return String.raw`\n(?P<skiplines${skip++}>(?:(?:.*\n)*?))`;
    const fixed = Object.hasOwn(FIXED_TAGS, name) ? FIXED_TAGS[name] : undefined;
    if (fixed !== undefined) return fixed;
    const m = /^(\/?)F-([A-Z0-9_-]+)$/.exec(name);
    if (m === null) return tag;
    const field = m[2] ?? '';
    if (m[1] === '/') return open.has(field) ? ')' : tag;
    open.add(field);
    const lower = field.toLowerCase();
    return `(?P<${TAG_NAMES[lower] ?? lower}>`;
  });
}

export type RegexKind = 'failregex' | 'ignoreregex' | 'prefregex';

/**
 * Resolves tags and translates one pattern. Throws FILTER_INVALID naming the filter, the kind,
 * the pattern and the construct that does not translate, or the unsafe nesting the guard found.
 */
export function compileFail2banRegex(
  filter: string,
  kind: RegexKind,
  source: string,
  options: {
    readonly useDns: string;
    readonly multiline: boolean;
    readonly unicode?: boolean;
    /** The filter's prefregex already captures a failure id. */
    readonly idInPrefix?: boolean;
    /** Where load-time warnings (risky nesting) are collected. */
    readonly notices?: string[];
  },
): PyRegExp {
  const expanded = resolveTags(source, options.useDns);
  const t = translatePythonRegex(expanded, {
    multiline: options.multiline,
    unicode: options.unicode !== false,
  });
  if (!t.ok) {
    throw new FleetbanError(
      ErrorCode.FILTER_INVALID,
      `fail2ban filter "${filter}": ${kind} ${JSON.stringify(source)} cannot be translated: ${t.construct}: ${t.reason}`,
    );
  }
  const unsafe = checkRegexSafety(expanded);
  if (unsafe?.severity === 'refuse') {
    throw new FleetbanError(
      ErrorCode.FILTER_INVALID,
      `fail2ban filter "${filter}": ${kind} ${JSON.stringify(source)} is unsafe: ${unsafe.reason}`,
    );
  }
  if (unsafe !== null) options.notices?.push(`${kind} ${JSON.stringify(source)}: ${unsafe.reason}`);
  if (
    kind === 'failregex' &&
    options.idInPrefix !== true &&
    !/\(\?P<(?:fid|ip4|ip6|dns|mlfid)>/.test(expanded)
  ) {
    throw new FleetbanError(
      ErrorCode.FILTER_INVALID,
      `fail2ban filter "${filter}": failregex ${JSON.stringify(source)} has no failure-id group (<HOST>, <ADDR>, <F-ID>, <F-MLFID>)`,
    );
  }
  return new PyRegExp(t.value);
}
