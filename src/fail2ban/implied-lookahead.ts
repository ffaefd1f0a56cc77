// Drops one-character lookaheads that what follows them decides anyway, so such patterns run on V8's linear-time engine.
import type { ClassItem, Node } from './regex-ast.js';

interface Flags {
  readonly ci: boolean;
  readonly dotall: boolean;
}

/** A pattern item that consumes exactly one character, with the flags in force where it stands. */
interface Atom {
  readonly node: Node;
  readonly flags: Flags;
}

/**
 * The characters the rest of a match may start with: `atoms` (or `any` when unknown), and `end`
 * when the match may end there or stand before `$`. A superset is always safe: it only keeps a
 * lookahead that could have gone.
 */
interface Follow {
  readonly atoms: readonly Atom[] | 'any';
  readonly end: boolean;
}

/** After the last item: a search may stop there, with any text after it. */
const OPEN: Follow = { atoms: 'any', end: true };
const NOTHING: Follow = { atoms: [], end: false };

/**
 * Removes each lookahead `(?=C)` or `(?!C)` of one character class C where every way the
 * pattern can go on consumes a character that C decides the same way: exim's
 * `"[^"]+(?:"+[^"]*(?="))*?"` needs no lookahead, since a `"` always follows. The pattern then
 * matches the same text with the same groups, and the linear engine can run it. Other
 * lookarounds stay. `flags` are the pattern's global ones.
 */
export function dropImpliedLookaheads(root: Node, flags: string): Node {
  return rewrite(root, OPEN, { ci: flags.includes('i'), dotall: flags.includes('s') });
}

function rewrite(n: Node, next: Follow, flags: Flags): Node {
  switch (n.t) {
    case 'seq': {
      const items: Node[] = [];
      let follow = next;
      for (let i = n.items.length - 1; i >= 0; i--) {
        const item = n.items[i] as Node;
        if (!implied(item, follow, flags)) items.unshift(rewrite(item, follow, flags));
        follow = first(item, follow, flags);
      }
      return { t: 'seq', items };
    }
    case 'alt':
      return { t: 'alt', branches: n.branches.map((b) => rewrite(b, next, flags)) };
    case 'group': {
      if (n.kind !== 'capture' && n.kind !== 'noncap' && n.kind !== 'atomic') return n;
      return { ...n, body: rewrite(n.body, next, scoped(n, flags)) };
    }
    case 'cond':
      return { ...n, yes: rewrite(n.yes, next, flags), no: rewrite(n.no, next, flags) };
    case 'quant': {
      // After one pass of the body comes another pass, or what follows the repeat.
      const after = n.max === 1 ? next : union(first(n.body, next, flags), next);
      return { ...n, body: rewrite(n.body, after, flags) };
    }
    default:
      return n;
  }
}

/** Whether `n` is a one-character lookahead that `follow` always satisfies. */
function implied(n: Node, follow: Follow, flags: Flags): boolean {
  if (n.t !== 'group' || (n.kind !== 'ahead' && n.kind !== 'nahead')) return false;
  const atom = single(n.body);
  if (atom === null || follow.atoms === 'any') return false;
  const tested: Atom = { node: atom, flags: scoped(n, flags) };
  if (n.kind === 'ahead') return !follow.end && follow.atoms.every((a) => within(a, tested));
  return follow.atoms.every((a) => disjoint(a, tested));
}

/** What a match may start with at `n`, when `next` follows it. */
function first(n: Node, next: Follow, flags: Flags): Follow {
  switch (n.t) {
    case 'char':
    case 'class':
    case 'any':
      return { atoms: [{ node: n, flags }], end: false };
    case 'esc':
      if ('dDwWsS'.includes(n.e)) return { atoms: [{ node: n, flags }], end: false };
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

function union(a: Follow, b: Follow): Follow {
  const atoms = a.atoms === 'any' || b.atoms === 'any' ? 'any' : [...a.atoms, ...b.atoms];
  return { atoms, end: a.end || b.end };
}

function scoped(n: Extract<Node, { t: 'group' }>, flags: Flags): Flags {
  const pick = (letter: string, now: boolean): boolean =>
    n.on.includes(letter) ? true : n.off.includes(letter) ? false : now;
  return { ci: pick('i', flags.ci), dotall: pick('s', flags.dotall) };
}

/** The one-character item a lookahead body consists of, or null. */
function single(n: Node): Node | null {
  let cur = n;
  for (;;) {
    if (cur.t === 'seq' && cur.items.length === 1) cur = cur.items[0] as Node;
    else if (cur.t === 'group' && cur.kind === 'noncap' && cur.on === '' && cur.off === '')
      cur = cur.body;
    else break;
  }
  if (cur.t === 'char' || cur.t === 'class' || cur.t === 'any') return cur;
  return cur.t === 'esc' && 'dDwWsS'.includes(cur.e) ? cur : null;
}

/** Whether every character `a` matches, `b` matches too (false when that cannot be shown). */
function within(a: Atom, b: Atom): boolean {
  const chars = finite(a);
  if (chars !== null) return chars.every((c) => member(b, c) === true);
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether no character matches both (false when that cannot be shown). */
function disjoint(a: Atom, b: Atom): boolean {
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
function member(a: Atom, c: string): boolean | undefined {
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
