// Translates Python `re` patterns (fail2ban's filter.d) into JavaScript RegExps with Python's meaning, or says why it cannot.
import { MAX_REPLICATION } from '../core/linear-regex.js';
import { rewriteLookaheads } from './linear-lookahead.js';
import { parsePythonRegex, PyRegexSyntaxError, type ClassItem, type Node } from './regex-ast.js';

export interface TranslateOptions {
  /** Python's re.MULTILINE: `^`/`$` also match at inner line breaks (fail2ban sets it when maxlines > 1). */
  readonly multiline?: boolean;
  /** Python 3's Unicode `\d`, `\w`, `\b` (default true); false keeps JavaScript's faster ASCII classes. */
  readonly unicode?: boolean;
  /**
   * Emit only what V8's linear-time engine runs: no `u` or `i` flag, no lookaround (those
   * that can be written without one are, see linear-lookahead.ts; the others are refused,
   * naming the construct, as are backreferences), `^`/`$` as plain anchors (the
   * subject then carries no final newline; multi-line patterns get the `m` flag), case
   * folding spelt out as classes, deep counted repeats unrolled. Unicode classes become
   * approximations: `\d` is ASCII, `\w` is exact up to U+00FF and counts every other
   * non-space character as a word character, `\b` is ASCII.
   */
  readonly linear?: boolean;
}

/**
 * A translated pattern. JavaScript has no conditional groups `(?(name)yes|no)`, so a pattern with
 * them becomes several variants, one per assignment of the tested groups, in the order Python's
 * backtracking would try them; a match is the leftmost match of any variant, earlier variants
 * winning ties.
 */
export interface TranslatedRegex {
  readonly source: string;
  readonly variants: readonly string[];
  readonly flags: string;
}

export type TranslateResult =
  | { readonly ok: true; readonly value: TranslatedRegex }
  | { readonly ok: false; readonly construct: string; readonly reason: string };

/** Most conditional groups one pattern may test (each doubles the variants). */
const MAX_CONDITIONALS = 4;

/** Translates one Python pattern; never throws. */
export function translatePythonRegex(
  source: string,
  options: TranslateOptions = {},
): TranslateResult {
  let parsed;
  try {
    parsed = parsePythonRegex(source);
  } catch (e) {
    if (e instanceof PyRegexSyntaxError)
      return { ok: false, construct: e.construct, reason: e.message };
    throw e;
  }
  const flags = parsed.globalFlags;
  if (flags.includes('x'))
    return { ok: false, construct: '(?x)', reason: 'verbose patterns are not supported' };
  const refs = conditionalRefs(parsed.root);
  if (refs.length > MAX_CONDITIONALS) {
    return {
      ok: false,
      construct: '(?(name)yes|no)',
      reason: `more than ${MAX_CONDITIONALS} conditional groups`,
    };
  }
  const linear = options.linear === true;
  const multiline = options.multiline === true || flags.includes('m');
  const names = parsed.groups;
  const assignments: Map<string, boolean>[] = [new Map<string, boolean>()];
  for (const ref of refs) {
    const lazy = isLazyOptional(parsed.root, ref, names);
    const next: Map<string, boolean>[] = [];
    for (const a of assignments) {
      for (const value of lazy ? [false, true] : [true, false])
        next.push(new Map(a).set(ref, value));
    }
    assignments.splice(0, assignments.length, ...next);
  }
  // The linear engine runs no lookaround: those that can be written without one are.
  const root = linear ? rewriteLookaheads(parsed.root, flags) : parsed.root;
  const variants: string[] = [];
  try {
    for (const assign of assignments) {
      const emitter = new Emitter(options, names, assign);
      variants.push(
        emitter.emit(root, {
          // The linear engine has no `i` flag: case folding is spelt out, as for scoped (?i:…).
          ci: linear && flags.includes('i'),
          dotall: flags.includes('s'),
          multiline,
        }),
      );
    }
  } catch (e) {
    if (e instanceof PyRegexSyntaxError)
      return { ok: false, construct: e.construct, reason: e.message };
    throw e;
  }
  const jsFlags = linear ? (multiline ? 'm' : '') : `${flags.includes('i') ? 'i' : ''}u`;
  for (const v of variants) {
    try {
      new RegExp(v, jsFlags);
    } catch (e) {
      return {
        ok: false,
        construct: 'pattern',
        reason: `JavaScript refused the translation: ${(e as Error).message}`,
      };
    }
  }
  return { ok: true, value: { source, variants, flags: jsFlags } };
}

/** Compiled variants of a translated pattern: the matcher fail2ban filters run on. */
export class PyRegExp {
  readonly source: string;
  readonly #variants: readonly RegExp[];

  constructor(translated: TranslatedRegex) {
    this.source = translated.source;
    this.#variants = translated.variants.map((v) => new RegExp(v, translated.flags));
  }

  /** Python's re.search: the leftmost match over all variants, or null. */
  exec(subject: string): RegExpExecArray | null {
    if (this.#variants.length === 1) return (this.#variants[0] as RegExp).exec(subject);
    let best: RegExpExecArray | null = null;
    for (const r of this.#variants) {
      const m = r.exec(subject);
      if (m !== null && (best === null || m.index < best.index)) best = m;
    }
    return best;
  }
}

function conditionalRefs(root: Node): string[] {
  const out: string[] = [];
  walk(root, (n) => {
    if (n.t === 'cond' && !out.includes(n.ref)) out.push(n.ref);
  });
  return out;
}

function walk(n: Node, visit: (n: Node) => void): void {
  visit(n);
  switch (n.t) {
    case 'seq':
      for (const x of n.items) walk(x, visit);
      break;
    case 'alt':
      for (const x of n.branches) walk(x, visit);
      break;
    case 'group':
    case 'quant':
      walk(n.body, visit);
      break;
    case 'cond':
      walk(n.yes, visit);
      walk(n.no, visit);
      break;
    default:
  }
}

function refersTo(n: Node, ref: string, names: readonly (string | null)[]): boolean {
  if (n.t !== 'group' || n.kind !== 'capture') return false;
  if (n.name === ref) return true;
  if (/^\d+$/.test(ref)) {
    let index = 0;
    // Unnamed and named groups share one numbering.
    for (let i = 0; i < names.length; i++) if (names[i] === n.name) index = i + 1;
    return n.name === null ? false : String(index) === ref;
  }
  return false;
}

function isLazyOptional(root: Node, ref: string, names: readonly (string | null)[]): boolean {
  let lazy = false;
  walk(root, (n) => {
    if (n.t === 'quant' && n.lazy && refersTo(n.body, ref, names)) lazy = true;
  });
  return lazy;
}

interface Ctx {
  readonly ci: boolean;
  readonly dotall: boolean;
  readonly multiline: boolean;
}

const WORD = String.raw`\p{L}\p{N}_`;
const SYNTAX = new Set(Array.from('^$\\.*+?()[]{}|/'));
const CLASS_SYNTAX = new Set(Array.from('\\]^-['));

class Emitter {
  readonly #unicode: boolean;
  readonly #linear: boolean;
  readonly #names: readonly (string | null)[];
  readonly #assign: ReadonlyMap<string, boolean>;

  constructor(
    options: TranslateOptions,
    names: readonly (string | null)[],
    assign: ReadonlyMap<string, boolean>,
  ) {
    this.#unicode = options.unicode !== false;
    this.#linear = options.linear === true;
    this.#names = names;
    this.#assign = assign;
  }

  emit(n: Node, ctx: Ctx): string {
    switch (n.t) {
      case 'seq':
        return n.items.map((x) => this.emit(x, ctx)).join('');
      case 'alt':
        return this.#alt(n.branches, ctx);
      case 'group':
        return this.#group(n, ctx);
      case 'cond': {
        const set = this.#assign.get(n.ref);
        if (set === undefined)
          throw new PyRegexSyntaxError(
            '(?(name)yes|no)',
            0,
            `conditional on unknown group ${n.ref}`,
          );
        return `(?:${this.emit(set ? n.yes : n.no, ctx)})`;
      }
      case 'quant':
        return this.#quant(n, ctx);
      case 'class':
        return this.#class(n.negated, n.items, ctx);
      case 'char':
        return literal(n.c, ctx.ci);
      case 'any':
        return ctx.dotall ? String.raw`[\s\S]` : String.raw`[^\n]`;
      case 'bol':
        if (this.#linear) return '^'; // the `m` flag makes it a line start in multi-line patterns
        return ctx.multiline ? String.raw`(?<![^\n])` : '^';
      case 'eol':
        if (this.#linear) return '$'; // linear subjects carry no final newline
        // Python's `$` also matches before a final newline (fail2ban appends one to every buffer).
        return ctx.multiline ? String.raw`(?![^\n])` : String.raw`(?=\n?$)`;
      case 'esc':
        if (this.#linear && ctx.multiline && (n.e === 'A' || n.e === 'Z'))
          throw notLinear(`\\${n.e}`, 'a string anchor in a multi-line pattern');
        return this.#escape(n.e);
      case 'backref':
        if (this.#linear) throw notLinear(`(?P=${n.ref})`, 'a backreference');
        return /^\d+$/.test(n.ref) ? `\\${n.ref}` : `\\k<${n.ref}>`;
    }
  }

  #alt(branches: readonly Node[], ctx: Ctx): string {
    // A branch holding a tested group is kept alone (group set) or disabled (group unset).
    const wanted = branches.findIndex((b) => this.#forced(b) === true);
    return branches
      .map((b, i) => {
        const text = this.emit(b, ctx);
        return this.#forced(b) === false || (wanted >= 0 && i !== wanted) ? `[]${text}` : text;
      })
      .join('|');
  }

  /** true/false when `b` is a branch consisting of a tested group (set/unset), else undefined. */
  #forced(b: Node): boolean | undefined {
    const g = b.t === 'seq' && b.items.length === 1 ? b.items[0] : b;
    if (g === undefined) return undefined;
    for (const [ref, value] of this.#assign) if (refersTo(g, ref, this.#names)) return value;
    return undefined;
  }

  #group(n: Extract<Node, { t: 'group' }>, ctx: Ctx): string {
    let inner = ctx;
    if (n.on !== '' || n.off !== '') {
      if (/[mx]/.test(n.on + n.off))
        throw new PyRegexSyntaxError(`(?${n.on}:…)`, 0, 'scoped m/x flags are not supported');
      inner = {
        ci: n.on.includes('i') ? true : n.off.includes('i') ? false : ctx.ci,
        dotall: n.on.includes('s') ? true : n.off.includes('s') ? false : ctx.dotall,
        multiline: ctx.multiline,
      };
    }
    if (this.#linear && n.kind in LOOKAROUND)
      throw notLinear(LOOKAROUND[n.kind] ?? '', 'a lookaround');
    const body = this.emit(n.body, inner);
    switch (n.kind) {
      case 'capture':
        return n.name === null ? `(${body})` : `(?<${n.name}>${body})`;
      case 'noncap':
        return `(?:${body})`;
      case 'ahead':
        return `(?=${body})`;
      case 'nahead':
        return `(?!${body})`;
      case 'behind':
        return `(?<=${body})`;
      case 'nbehind':
        return `(?<!${body})`;
      case 'atomic':
        // (?=(X))\1 is the classic atomic-group emulation; it adds a numbered group, so only when unnamed refs are absent.
        throw new PyRegexSyntaxError('(?>…)', 0, 'atomic groups are not supported');
    }
  }

  #quant(n: Extract<Node, { t: 'quant' }>, ctx: Ctx): string {
    if (n.possessive)
      throw new PyRegexSyntaxError(
        'possessive quantifier',
        0,
        'possessive quantifiers are not supported',
      );
    for (const [ref, value] of this.#assign) {
      if (n.min === 0 && n.max === 1 && refersTo(n.body, ref, this.#names)) {
        // The tested group decides: present exactly once, or not at all.
        return value ? this.emit(n.body, ctx) : `${this.emit(n.body, ctx)}{0}`;
      }
    }
    const body = this.emit(n.body, ctx);
    const atom = isAtomic(n.body) ? body : `(?:${body})`;
    let max = n.max;
    if (this.#linear) {
      // Large counts read as unbounded (see relaxLargeRepeats); nested small ones are unrolled.
      if (ownReplication(n) > MAX_REPLICATION) return unroll(n, atom);
      max = relaxedMax(n);
    }
    let q: string;
    if (n.min === 0 && max === null) q = '*';
    else if (n.min === 1 && max === null) q = '+';
    else if (n.min === 0 && max === 1) q = '?';
    else if (max === n.min) q = `{${n.min}}`;
    else q = `{${n.min},${max ?? ''}}`;
    return `${atom}${q}${n.lazy ? '?' : ''}`;
  }

  #escape(e: string): string {
    const u = this.#unicode;
    if (this.#linear) {
      const approx = e === 'b' || e === 'B' ? `\\${e}` : linearClass(e, u);
      if (approx !== null) return approx;
    }
    switch (e) {
      case 'A':
        return '^';
      case 'Z':
        return '$';
      case 'b':
        return u ? `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))` : String.raw`\b`;
      case 'B':
        return u ? `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))` : String.raw`\B`;
      case 'd':
        return u ? String.raw`\p{Nd}` : String.raw`\d`;
      case 'D':
        return u ? String.raw`\P{Nd}` : String.raw`\D`;
      case 'w':
        return u ? `[${WORD}]` : String.raw`\w`;
      case 'W':
        return u ? `[^${WORD}]` : String.raw`\W`;
      default:
        return `\\${e}`; // \s \S
    }
  }

  #class(negated: boolean, items: readonly ClassItem[], ctx: Ctx): string {
    const parts: string[] = [];
    for (const item of items) {
      if (item.t === 'char') {
        parts.push(classChar(item.c));
        if (ctx.ci) {
          const other = swapCase(item.c);
          if (other !== item.c) parts.push(classChar(other));
        }
      } else if (item.t === 'range') {
        parts.push(`${classChar(item.from)}-${classChar(item.to)}`);
        if (ctx.ci) parts.push(...caseRanges(item.from, item.to));
      } else if (item.e === 'd')
        parts.push(this.#unicode && !this.#linear ? String.raw`\p{Nd}` : String.raw`\d`);
      else if (item.e === 'w')
        parts.push(this.#unicode ? (this.#linear ? linearWord() : WORD) : String.raw`\w`);
      else if (item.e === 'W' && this.#unicode && this.#linear) parts.push(linearNonWord());
      else parts.push(`\\${item.e}`);
    }
    if (parts.length === 0) return negated ? String.raw`[\s\S]` : '[]';
    return `[${negated ? '^' : ''}${parts.join('')}]`;
  }
}

const LOOKAROUND: Readonly<Partial<Record<string, string>>> = {
  ahead: '(?=…)',
  nahead: '(?!…)',
  behind: '(?<=…)',
  nbehind: '(?<!…)',
};

function notLinear(construct: string, what: string): PyRegexSyntaxError {
  return new PyRegexSyntaxError(construct, 0, `${what} ${construct}`);
}

/** How many copies V8's linear engine would make of the deepest part of `n`, after relaxing and unrolling. */
function replication(n: Node): number {
  switch (n.t) {
    case 'quant': {
      const own = ownReplication(n);
      return own > MAX_REPLICATION ? replication(n.body) : own; // unrolled
    }
    case 'group':
      return replication(n.body);
    case 'seq':
      return Math.max(1, ...n.items.map(replication));
    case 'alt':
      return Math.max(1, ...n.branches.map(replication));
    case 'cond':
      return Math.max(replication(n.yes), replication(n.no));
    default:
      return 1;
  }
}

/** The repeat's count times its body's: V8 counts `{m,}` as m + 1 copies, `{m,n}` as n. */
function ownReplication(n: Extract<Node, { t: 'quant' }>): number {
  const max = relaxedMax(n);
  return (max === null ? n.min + 1 : Math.max(max, 1)) * replication(n.body);
}

/** A count above the engine's limit reads as unbounded (see relaxLargeRepeats). */
function relaxedMax(n: Extract<Node, { t: 'quant' }>): number | null {
  return n.max !== null && n.max > MAX_REPLICATION && n.min < MAX_REPLICATION ? null : n.max;
}

/**
 * `X{m,n}` as m copies of X then n-m nested optionals (`XX(?:X(?:X)?)?`), which match the same
 * text in the same order of preference without a count the linear engine would multiply. A
 * repeated capture group cannot be copied (its name would repeat), so that is refused.
 */
function unroll(n: Extract<Node, { t: 'quant' }>, atom: string): string {
  if (/\(\?<[A-Za-z_]/.test(atom) || /\((?!\?)/.test(atom.replace(/\\./g, '')))
    throw notLinear(`{${n.min},${n.max ?? ''}}`, 'a counted repeat of a capture group, too large');
  const lazy = n.lazy ? '?' : '';
  let out = atom.repeat(n.max === null ? Math.max(n.min - 1, 0) : n.min);
  if (n.max === null) return `${out}${atom}${n.min === 0 ? '*' : '+'}${lazy}`;
  let tail = '';
  for (let i = n.max - n.min; i > 0; i--) tail = `(?:${atom}${tail})?${lazy}`;
  out += tail;
  return out;
}

let wordClass: string | undefined;
let nonWordClass: string | undefined;

/** Everything above U+00FF that JavaScript's `\s` does not match (U+1680, U+2000-200A, U+2028/9, U+202F, U+205F, U+3000, U+FEFF). */
const ABOVE_LATIN1_NON_SPACE = String.raw`\u0100-\u167f\u1681-\u1fff\u200b-\u2027\u202a-\u202e\u2030-\u205e\u2060-\u2fff\u3001-\ufefe\uff00-\uffff`;
const ABOVE_LATIN1_SPACE = String.raw`\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff`;

/**
 * The inside of a class for Python's Unicode `\w` on the linear engine, which has no `\p{…}`:
 * exact up to U+00FF, then every code unit that is not white space (a few ranges, where the
 * exact 400-range class would make each linear step slow).
 */
function linearWord(): string {
  return (wordClass ??= latin1Ranges(true) + ABOVE_LATIN1_NON_SPACE);
}

/** The inside of a class for the opposite of linearWord(), for `[^\W…]`. */
function linearNonWord(): string {
  return (nonWordClass ??= latin1Ranges(false) + ABOVE_LATIN1_SPACE);
}

/** Ranges of the Latin-1 characters that are (or are not) Python word characters. */
function latin1Ranges(word: boolean): string {
  const isWord = /[\p{L}\p{N}_]/u;
  let out = '';
  let start = -1;
  for (let c = 0; c <= 0x100; c++) {
    const yes = c < 0x100 && isWord.test(String.fromCharCode(c)) === word;
    if (yes && start < 0) start = c;
    if (!yes && start >= 0) {
      out += c - 1 === start ? hex(start) : `${hex(start)}-${hex(c - 1)}`;
      start = -1;
    }
  }
  return out;
}

function hex(c: number): string {
  return `\\u${c.toString(16).padStart(4, '0')}`;
}

/** `\d \D \w \W` for the linear engine (no `u` flag), or null for the escapes that need no change. */
function linearClass(e: string, unicode: boolean): string | null {
  if (!unicode) return null;
  switch (e) {
    case 'w':
      return `[${linearWord()}]`;
    case 'W':
      return `[^${linearWord()}]`;
    case 'd':
      return String.raw`\d`;
    case 'D':
      return String.raw`\D`;
    default:
      return null;
  }
}

function isAtomic(n: Node): boolean {
  if (n.t === 'char' || n.t === 'any' || n.t === 'class' || n.t === 'group' || n.t === 'backref')
    return true;
  if (n.t === 'esc') return !'bB'.includes(n.e) && n.e.length === 1 && !'wWdD'.includes(n.e);
  return false;
}

function literal(c: string, ci: boolean): string {
  if (ci) {
    const other = swapCase(c);
    if (other !== c) return `[${classChar(c)}${classChar(other)}]`;
  }
  if (SYNTAX.has(c)) return `\\${c}`;
  return printable(c);
}

function classChar(c: string): string {
  if (CLASS_SYNTAX.has(c)) return `\\${c}`;
  return printable(c);
}

function printable(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return c;
}

function swapCase(c: string): string {
  const lower = c.toLowerCase();
  return lower === c ? c.toUpperCase() : lower;
}

/** The other-case ranges of the ASCII letters inside [from-to], for scoped `(?i:…)`. */
function caseRanges(from: string, to: string): string[] {
  const out: string[] = [];
  const f = from.charCodeAt(0);
  const t = to.charCodeAt(0);
  for (const [lo, hi, shift] of [
    [97, 122, -32],
    [65, 90, 32],
  ] as const) {
    const a = Math.max(f, lo);
    const b = Math.min(t, hi);
    if (a <= b) out.push(`${String.fromCharCode(a + shift)}-${String.fromCharCode(b + shift)}`);
  }
  return out;
}
