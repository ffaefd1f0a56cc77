// Re-anchors a fail2ban failregex match on the last occurrence of its address field, so a copy of that field inside an earlier user name cannot choose who is banned.
import { checkRegexSafety } from './regex-guard.js';
import { resolveTags } from './compile.js';
import { PyRegExp, translatePythonRegex } from './regex.js';

/** The address tags of a fail2ban pattern; a pattern with more than one is left alone. */
const ADDRESS_TAG = /<(?:HOST|ADDR|IP4|IP6|F-ADDR\/|F-IP4\/|F-IP6\/)>/g;
/** A user field: `<F-USER>` or `<F-ALT_USER…>`, the fields fail2ban filters give attacker text. */
const USER_TAG = /<F-(?:ALT_)?USER\d*>/;
/** Later occurrences tried per line, last first: bounds the work an attacker can ask for. */
const MAX_TRIES = 8;
/** How far the address may start after its field text: `[`, `::ffff:`. */
const ADDRESS_SLACK = 8;
const HOST_GROUPS = ['ip4', 'ip6', 'dns'] as const;

/**
 * The literal text a pattern puts right before its address tag (`ip=\[` → `ip=[`,
 * ` from `, `rip=`), or '' when the text before the tag is not literal.
 */
export function addressContext(source: string): string {
  const tag = source.search(ADDRESS_TAG);
  let out = '';
  let i = tag - 1;
  while (i >= 0) {
    const c = source[i] ?? '';
    const escaped = i > 0 && source[i - 1] === '\\' && (i < 2 || source[i - 2] !== '\\');
    if (escaped) {
      // An escaped punctuation mark is itself; \d, \s, \w and friends end the literal text.
      if (/[A-Za-z0-9]/.test(c)) break;
      out = c + out;
      i -= 2;
      continue;
    }
    if (/[\\^$.|?*+()[\]{}<>]/.test(c)) break;
    out = c + out;
    i--;
  }
  return out;
}

/**
 * What may follow the address tag in a pattern that ends at the address: closing punctuation,
 * optional groups of it, white space and the line end (`\]`, `"(?:\s*$|,)`, `\s*$`).
 */
const CLOSING = /\(\?:|\\s[*+]?|\\[^A-Za-z0-9]|[)|?$"',;:>\s]/g;

/**
 * Whether the last-occurrence rule applies to a pattern, and the address field's text when it
 * does: exactly one address tag; a user field opening before it (the filter says attacker text
 * precedes the address); nothing after it but closing punctuation or the line end (the filter
 * says the address field ends the line: where a filter goes on after the address, as sshd's
 * `port N ssh2: …` and pam's `user=…` do, its own structure decides and is left alone); and at
 * least two characters of literal field text before the tag (` from `, `rip=`, `ip=[`).
 */
export function lastHostContext(source: string): string {
  const tags = source.match(ADDRESS_TAG) ?? [];
  if (tags.length !== 1) return '';
  const tag = source.search(ADDRESS_TAG);
  const user = source.search(USER_TAG);
  if (user < 0 || user > tag) return '';
  const rest = source.slice(tag + tags[0].length);
  if (rest.replace(CLOSING, '') !== '') return '';
  const context = addressContext(source);
  return context.trim().length >= 2 ? context : '';
}

/**
 * The last-occurrence rule for one failregex (docs/filters.md): when the daemon writes a user
 * name before the address, a name holding a copy of the address field (`user=x, ip=[8.8.8.8]`)
 * puts a fake field first. If the field occurs again later in the line and the pattern still
 * matches once the text between the two is taken as part of the name, the later address is the
 * daemon's, and the last such occurrence wins.
 */
export class LastHostRule {
  readonly context: string;
  /** The pattern again with match indices ('d'), run only on lines that hold a later field. */
  readonly #withIndices: PyRegExp;

  private constructor(context: string, withIndices: PyRegExp) {
    this.context = context;
    this.#withIndices = withIndices;
  }

  /** The rule for `source`, or null when it does not apply (see lastHostContext). */
  static compile(
    source: string,
    options: { readonly useDns: string; readonly unicode: boolean },
  ): LastHostRule | null {
    const context = lastHostContext(source);
    if (context === '') return null;
    const expanded = resolveTags(source, options.useDns);
    // Match indices (`d`) keep a pattern off V8's linear engine and its fallback: a pattern that
    // could backtrack exponentially gets no second look (its first match stands).
    if (checkRegexSafety(expanded)?.severity === 'refuse') return null;
    const t = translatePythonRegex(expanded, {
      multiline: false,
      unicode: options.unicode,
    });
    if (!t.ok) return null;
    const withIndices = new PyRegExp({ ...t.value, flags: `${t.value.flags}d` });
    // Compiled now, at load time: a first injected line must not pay for it against the budget.
    withIndices.exec('');
    return new LastHostRule(context, withIndices);
  }

  /**
   * A match of the same pattern whose address is the last occurrence of the field, when it
   * differs from `m`'s; null when `m` already holds the last one (the common case costs one
   * lastIndexOf and no regex run).
   */
  prefer(subject: string, m: RegExpExecArray): RegExpExecArray | null {
    const host = hostText(m);
    const ctx = this.context;
    const last = subject.lastIndexOf(ctx);
    if (host === '' || last < 0 || startsNear(subject, host, last + ctx.length)) return null;
    const first = this.#withIndices.exec(subject);
    const at = first === null ? -1 : hostStart(first);
    if (at < 0) return null;
    const field = subject.lastIndexOf(ctx, at - ctx.length);
    if (field < 0 || at - field - ctx.length > ADDRESS_SLACK) return null;
    let tries = 0;
    for (let q = last; q > at && tries < MAX_TRIES; q = subject.lastIndexOf(ctx, q - 1), tries++) {
      const spliced = subject.slice(0, field) + subject.slice(q);
      const r = this.#withIndices.exec(spliced);
      if (r === null) continue;
      const start = hostStart(r);
      if (start >= field + ctx.length && start - field - ctx.length <= ADDRESS_SLACK) return r;
    }
    return null;
  }
}

function hostText(m: RegExpExecArray): string {
  for (const g of HOST_GROUPS) {
    const v = m.groups?.[g];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

function hostStart(m: RegExpExecArray): number {
  for (const g of HOST_GROUPS) {
    const span = m.indices?.groups?.[g];
    if (span !== undefined) return span[0];
  }
  return -1;
}

function startsNear(subject: string, text: string, from: number): boolean {
  const at = subject.indexOf(text, from);
  return at >= 0 && at - from <= ADDRESS_SLACK;
}
