// What a Python pattern can match next at a point: the first-character sets the lookahead rewrites reason with.
import type { ClassItem, Node } from './regex-ast.js';

export interface Flags {
  readonly ci: boolean;
  readonly dotall: boolean;
}

/** A pattern item that consumes exactly one character, with the flags in force where it stands. */
export interface Atom {
  readonly node: Node;
  readonly flags: Flags;
}

/**
 * The characters the rest of a match may start with: `atoms` (or `any` when unknown), and `end`
 * when the match may end there or stand before `$`. A superset is always safe: it only keeps a
 * lookahead that could have gone.
 */
export interface Follow {
  readonly atoms: readonly Atom[] | 'any';
  readonly end: boolean;
}

/**
 * What follows a point of a pattern: `items` of the same sequence, then `next` (null: nothing
 * whose structure is known, only `follow`); `follow` is its first-character set.
 */
export interface Continuation {
  readonly items: readonly Node[];
  readonly next: Continuation | null;
  readonly follow: Follow;
}

/** What follows a point where `items` come next, then `after`. */
export function continuation(
  items: readonly Node[],
  after: Continuation,
  flags: Flags,
): Continuation {
  return {
    items,
    next: after,
    follow: first({ t: 'seq', items: [...items] }, after.follow, flags),
  };
}

/** After the last item: a search may stop there, with any text after it. */
export const OPEN: Follow = { atoms: 'any', end: true };
const NOTHING: Follow = { atoms: [], end: false };

/** What a match may start with at `n`, when `next` follows it. */
export function first(n: Node, next: Follow, flags: Flags): Follow {
  switch (n.t) {
    case 'char':
    case 'class':
    case 'any':
      return { atoms: [{ node: n, flags }], end: false };
    case 'esc':
      if (oneChar(n)) return { atoms: [{ node: n, flags }], end: false };
      return n.e === 'Z' ? { atoms: next.atoms, end: true } : next;
    case 'bol':
      return next;
    case 'eol':
      return { atoms: next.atoms, end: true };
    case 'seq': {
      let f = next;
      for (let i = n.items.length - 1; i >= 0; i--) f = first(n.items[i] as Node, f, flags);
      return f;
    }
    case 'alt':
      return n.branches.reduce((f, b) => union(f, first(b, next, flags)), NOTHING);
    case 'group':
      // A lookaround consumes nothing; what comes after it is what follows.
      if (n.kind !== 'capture' && n.kind !== 'noncap' && n.kind !== 'atomic') return next;
      return first(n.body, next, scoped(n, flags));
    case 'cond':
      return union(first(n.yes, next, flags), first(n.no, next, flags));
    case 'quant':
      if (n.max === 0) return next;
      return n.min === 0 ? union(first(n.body, next, flags), next) : first(n.body, next, flags);
    case 'backref':
      return OPEN;
  }
}

/** Whether `n` consumes exactly one character: a literal, a class, `.`, or `\d \w \s` and their opposites. */
export function oneChar(n: Node): boolean {
  return (
    n.t === 'char' || n.t === 'class' || n.t === 'any' || (n.t === 'esc' && 'dDwWsS'.includes(n.e))
  );
}

export function union(a: Follow, b: Follow): Follow {
  const atoms = a.atoms === 'any' || b.atoms === 'any' ? 'any' : [...a.atoms, ...b.atoms];
  return { atoms, end: a.end || b.end };
}

export function scoped(n: Extract<Node, { t: 'group' }>, flags: Flags): Flags {
  const pick = (letter: string, now: boolean): boolean =>
    n.on.includes(letter) ? true : n.off.includes(letter) ? false : now;
  return { ci: pick('i', flags.ci), dotall: pick('s', flags.dotall) };
}

/** Whether every character `a` matches, `b` matches too (false when that cannot be shown). */
export function within(a: Atom, b: Atom): boolean {
  const chars = finite(a);
  if (chars !== null) return chars.every((c) => member(b, c) === true);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether no character matches both (false when that cannot be shown). */
export function disjoint(a: Atom, b: Atom): boolean {
  const chars = finite(a) ?? finite(b);
  const other = finite(a) === null ? a : b;
  return chars !== null && chars.every((c) => member(other, c) === false);
}

/** Most characters a class may list to be tested one by one. */
const MAX_LISTED = 256;

/** The characters a literal or a small plain class matches (both cases under `i`), or null. */
function finite(a: Atom): string[] | null {
  const n = a.node;
  const chars: string[] = [];
  if (n.t === 'char') chars.push(n.c);
  else if (n.t === 'class' && !n.negated) {
    for (const item of n.items) {
      if (item.t === 'esc') return null;
      if (item.t === 'char') chars.push(item.c);
      else {
        const from = item.from.charCodeAt(0);
        const to = item.to.charCodeAt(0);
        if (to - from >= MAX_LISTED) return null;
        for (let c = from; c <= to; c++) chars.push(String.fromCharCode(c));
      }
    }
  } else return null;
  if (!a.flags.ci) return chars;
  return [...new Set(chars.flatMap((c) => [c, c.toLowerCase(), c.toUpperCase()]))];
}

/** Whether the atom matches character `c`, with Python 3's Unicode meaning of `\d \w \s`; undefined when unknown. */
export function member(a: Atom, c: string): boolean | undefined {
  const n = a.node;
  switch (n.t) {
    case 'char':
      return a.flags.ci ? c.toLowerCase() === n.c.toLowerCase() : c === n.c;
    case 'any':
      return a.flags.dotall || c !== '\n';
    case 'esc':
      return escapeMatches(n.e, c);
    case 'class': {
      const hits = n.items.map((item) => classItemMatches(item, c, a.flags.ci));
      if (hits.includes(true)) return !n.negated;
      return hits.includes(undefined) ? undefined : n.negated;
    }
    default:
      return undefined;
  }
}

function classItemMatches(item: ClassItem, c: string, ci: boolean): boolean | undefined {
  const cases = ci ? [c, c.toLowerCase(), c.toUpperCase()] : [c];
  switch (item.t) {
    case 'char':
      return cases.includes(item.c);
    case 'range':
      return cases.some((x) => x >= item.from && x <= item.to);
    case 'esc':
      return escapeMatches(item.e, c);
  }
}

/** Python's `\s` is str.isspace(): JavaScript's `\s` plus U+001C-001F, without U+FEFF. */
const ESCAPES: Readonly<Record<string, RegExp>> = {
  d: /^\p{Nd}$/u,
  w: /^[\p{L}\p{N}_]$/u,
  s: /^[^\S\ufeff]$|^[\x1c-\x1f]$/u,
};

function escapeMatches(e: string, c: string): boolean | undefined {
  const re = Object.hasOwn(ESCAPES, e.toLowerCase()) ? ESCAPES[e.toLowerCase()] : undefined;
  if (re === undefined) return undefined;
  return re.test(c) === (e === e.toLowerCase());
}
