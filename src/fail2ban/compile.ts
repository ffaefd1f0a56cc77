// Turns a fail2ban filter's regex text into runnable patterns: <HOST>/<F-…> tags as fail2ban resolves them, then Python → JavaScript.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { enableLinearRegex, linearObstacle } from '../core/linear-regex.js';
import { PyRegExp, translatePythonRegex, type TranslateResult } from './regex.js';
import { checkRegexSafety } from './regex-guard.js';

const IP4 = String.raw`(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})`;
// fail2ban ends an IPv6 address in a hex group or in `(?<=:):`; every unit before it ends in `:`,
// so the lookbehind always holds and a plain `:` (which the linear engine can run) means the same.
const IP6 = String.raw`(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|:))`;
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
 * Resolves tags and translates one pattern for V8's linear-time engine (with the backtracking
 * engine first and the linear one as fallback, no line can make it backtrack catastrophically).
 * A pattern that needs lookaround or a backreference keeps the backtracking engine: it loads
 * with a notice, or is refused when it nests repeats the exponential way. Throws FILTER_INVALID
 * naming the filter, the kind, the pattern and the construct.
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
    /** Where load-time warnings (patterns left on the backtracking engine) are collected. */
    readonly notices?: string[];
  },
): PyRegExp {
  const expanded = resolveTags(source, options.useDns);
  const translate = (linear: boolean): TranslateResult =>
    translatePythonRegex(expanded, {
      multiline: options.multiline,
      unicode: options.unicode !== false,
      linear,
    });
  let t = translate(true);
  const obstacle = t.ok ? linearObstacleOf(t.value) : t.reason;
  if (obstacle !== null) {
    // Lookarounds and backreferences (sshd's `(?! from )`, `(?P=name)`) need the backtracking
    // engine; such a pattern is refused if it nests repeats the exponential way.
    const backtracking = translate(false);
    t = backtracking;
    if (backtracking.ok) {
      const unsafe = checkRegexSafety(expanded);
      if (unsafe?.severity === 'refuse') {
        throw new FleetbanError(
          ErrorCode.FILTER_INVALID,
          `fail2ban filter "${filter}": ${kind} ${JSON.stringify(source)} is unsafe: it needs the backtracking engine (it uses ${obstacle}) and ${unsafe.reason}`,
        );
      }
      options.notices?.push(
        `${kind} ${JSON.stringify(source)} uses ${obstacle}, which V8's linear-time engine cannot run; it runs on the backtracking engine, checked only for exponential nesting${unsafe === null ? '' : ` (${unsafe.reason})`}`,
      );
    }
  }
  if (!t.ok) {
    throw new FleetbanError(
      ErrorCode.FILTER_INVALID,
      `fail2ban filter "${filter}": ${kind} ${JSON.stringify(source)} cannot be translated: ${t.construct}: ${t.reason}`,
    );
  }
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
  enableLinearRegex(); // before the RegExps exist: V8 fixes their backtrack limit at creation
  return new PyRegExp(t.value);
}

/** What keeps a translated pattern off the linear engine, or null. */
function linearObstacleOf(t: {
  readonly variants: readonly string[];
  readonly flags: string;
}): string | null {
  for (const variant of t.variants) {
    const obstacle = linearObstacle(variant, t.flags);
    if (obstacle !== null) return obstacle.construct;
  }
  return null;
}
