// Translates Python `re` patterns (fail2ban's filter.d) into JavaScript RegExps with Python's meaning, or says why it cannot.
import { parsePythonRegex, PyRegexSyntaxError, type ClassItem, type Node } from './regex-ast.js';

export interface TranslateOptions {
  /** Python's re.MULTILINE: `^`/`$` also match at inner line breaks (fail2ban sets it when maxlines > 1). */
  readonly multiline?: boolean;
  /** Python 3's Unicode `\d`, `\w`, `\b` (default true); false keeps JavaScript's faster ASCII classes. */
  readonly unicode?: boolean;
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
  const variants: string[] = [];
  try {
    for (const assign of assignments) {
      const emitter = new Emitter(options, names, assign);
      variants.push(
        emitter.emit(parsed.root, {
          ci: flags.includes('i'),
          dotall: flags.includes('s'),
          multiline: options.multiline === true || flags.includes('m'),
        }),
      );
    }
  } catch (e) {
    if (e instanceof PyRegexSyntaxError)
      return { ok: false, construct: e.construct, reason: e.message };
    throw e;
  }
  const jsFlags = `${flags.includes('i') ? 'i' : ''}u`;
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
  readonly #names: readonly (string | null)[];
  readonly #assign: ReadonlyMap<string, boolean>;

  constructor(
    options: TranslateOptions,
    names: readonly (string | null)[],
    assign: ReadonlyMap<string, boolean>,
  ) {
    this.#unicode = options.unicode !== false;
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
        return ctx.multiline ? String.raw`(?<![^\n])` : '^';
      case 'eol':
        // Python's `$` also matches before a final newline (fail2ban appends one to every buffer).
        return ctx.multiline ? String.raw`(?![^\n])` : String.raw`(?=\n?$)`;
      case 'esc':
        return this.#escape(n.e);
      case 'backref':
        return /^\d+$/.test(n.ref) ? `\\${n.ref}` : `\\k<${n.ref}>`;
    }
  }

  #alt(branches: readonly Node[], ctx: Ctx): string {
    // A branch holding a tested group is kept alone (group set) or disabled (group unset).
    const wanted = branches.findIndex((b) => this.#forced(b) === true);
    return branches
      .map((b, i) => {
        const text = this.emit(b, ctx);
        return this.#forced(b) === false || (wanted >= 0 && i !== wanted) ? `(?!)${text}` : text;
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
    let q: string;
    if (n.min === 0 && n.max === null) q = '*';
    else if (n.min === 1 && n.max === null) q = '+';
    else if (n.min === 0 && n.max === 1) q = '?';
    else if (n.max === n.min) q = `{${n.min}}`;
    else q = `{${n.min},${n.max ?? ''}}`;
    return `${atom}${q}${n.lazy ? '?' : ''}`;
  }

  #escape(e: string): string {
    const u = this.#unicode;
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
      } else if (item.e === 'd') parts.push(this.#unicode ? String.raw`\p{Nd}` : String.raw`\d`);
      else if (item.e === 'w') parts.push(this.#unicode ? WORD : String.raw`\w`);
      else parts.push(`\\${item.e}`);
    }
    if (parts.length === 0) return negated ? String.raw`[\s\S]` : '(?!)';
    return `[${negated ? '^' : ''}${parts.join('')}]`;
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
