// A negative lookahead of literal words, such as `(?!evasive)\S+`, written as the ways the text can differ from each word: no lookahead left.
import {
  continuation,
  first,
  member,
  oneChar,
  type Continuation,
  type Flags,
  type Follow,
} from './follow.js';
import type { ClassItem, Node } from './regex-ast.js';

/** Whether the text at a point may start with one of the words: never, always, or not known. */
type Verdict = 'allowed' | 'forbidden' | 'unknown';

/** Matches nothing. */
const FAIL: Node = { t: 'class', negated: false, items: [] };
const EMPTY: Node = { t: 'seq', items: [] };
const END: Continuation = { items: [], next: null, follow: { atoms: 'any', end: true } };

/**
 * `items`, followed by `after`, without the matches whose text starts with one of `words`: what
 * `(?!word1|word2)items` matches, with the same groups. Literal items consume the words' letters;
 * a run of one class (`\S+`, `[\w-]+`, `.*`) becomes an alternation of the ways it can leave the
 * words: at some character, by stopping where what follows cannot go on with them, or (when a
 * word is only part of it) by going on. Null when that cannot be shown for some part: the
 * lookahead then stays, on the backtracking engine. Not under the `i` flag.
 */
export function excludeWords(
  words: readonly string[],
  items: readonly Node[],
  after: Continuation,
  flags: Flags,
): Node[] | null {
  if (flags.ci || words.includes('')) return null;
  if (words.length === 0) return [...items];
  const [x, ...rest] = items;
  if (x === undefined) return nothingOr(decide(words, [], after, flags));
  const tail = (left: readonly string[]): Node[] | null => {
    const out = excludeWords(left, rest, after, flags);
    return out === null ? null : [x, ...out];
  };
  switch (x.t) {
    case 'char': {
      const left = residual(words, x.c);
      if (left.includes('')) return [FAIL];
      return left.length === 0 ? [...items] : tail(left);
    }
    case 'bol':
      return tail(words);
    case 'eol':
      return words.some((w) => w.startsWith('\n')) ? null : [...items];
    case 'esc':
      if (!oneChar(x)) return tail(words);
      return run(x, 1, 1, false, words, rest, after, flags);
    case 'class':
    case 'any':
      return run(x, 1, 1, false, words, rest, after, flags);
    case 'quant':
      if (!oneChar(x.body) || x.possessive) return null;
      return run(x.body, x.min, x.max, x.lazy, words, rest, after, flags);
    case 'group': {
      if (x.kind !== 'capture' && x.kind !== 'noncap') {
        return x.kind === 'atomic' ? null : tail(words); // a lookaround consumes nothing
      }
      if (x.on !== '' || x.off !== '') return null;
      const inner = continuation(rest, after, flags);
      const branches = x.body.t === 'alt' ? x.body.branches : [x.body];
      const out: Node[] = [];
      for (const b of branches) {
        const done = excludeWords(words, itemsOf(b), inner, flags);
        if (done === null) return null;
        out.push({ t: 'seq', items: done });
      }
      const body: Node = out.length === 1 ? (out[0] as Node) : { t: 'alt', branches: out };
      return [{ ...x, body }, ...rest];
    }
    default:
      return null;
  }
}

/**
 * A run of `atom`, `min` to `max` times, as an alternation over the words' letters: at each
 * depth, a character that leaves every word (then the rest of the run), a letter that keeps
 * to some word, or (when the run may stop there) nothing, where what follows cannot go on with
 * the words. Greedy runs try the longer ways first, lazy ones the shorter: the same order.
 */
function run(
  atom: Node,
  min: number,
  max: number | null,
  lazy: boolean,
  words: readonly string[],
  rest: readonly Node[],
  after: Continuation,
  flags: Flags,
): Node[] | null {
  const following = continuation(rest, after, flags);
  const at = (prefix: string): Node | null => {
    const depth = prefix.length;
    const live = words.filter((w) => w.startsWith(prefix));
    const letters = [...new Set(live.map((w) => w[depth] as string))];
    const branches: Node[] = [];
    if (max === null || depth < max) {
      const other = minus(atom, letters, flags);
      if (other === null) return null;
      const more = repeat(atom, min - depth - 1, max === null ? null : max - depth - 1, lazy);
      if (other !== FAIL) branches.push({ t: 'seq', items: [other, more] });
      for (const c of letters) {
        const inRun = member({ node: atom, flags }, c);
        if (inRun === undefined) return null;
        if (!inRun || live.includes(prefix + c)) continue; // not in the run, or a whole word
        const deeper = at(prefix + c);
        if (deeper === null) return null;
        branches.push({ t: 'seq', items: [{ t: 'char', c }, deeper] });
      }
    }
    if (depth >= min) {
      const verdict = decide(
        live.map((w) => w.slice(depth)),
        [],
        following,
        flags,
      );
      if (verdict === 'unknown') return null;
      if (verdict === 'allowed') {
        if (lazy) branches.unshift(EMPTY);
        else branches.push(EMPTY);
      }
    }
    if (branches.length === 0) return FAIL;
    return {
      t: 'group',
      kind: 'noncap',
      name: null,
      on: '',
      off: '',
      body: { t: 'alt', branches },
    };
  };
  const built = at('');
  return built === null ? null : [built, ...rest];
}

/** Whether the text at `items`, then `after`, starts with one of `words`. */
function decide(
  words: readonly string[],
  items: readonly Node[],
  after: Continuation,
  flags: Flags,
): Verdict {
  if (words.includes('')) return 'forbidden';
  if (words.length === 0) return 'allowed';
  const [x, ...rest] = items;
  if (x === undefined) {
    if (after.items.length === 0 && after.next === null) return byFollow(words, after.follow);
    return decide(words, after.items, after.next ?? END, flags);
  }
  switch (x.t) {
    case 'char':
      if (flags.ci) break;
      return decide(residual(words, x.c), rest, after, flags);
    case 'bol':
      return decide(words, rest, after, flags);
    case 'eol':
      return words.some((w) => w.startsWith('\n')) ? 'unknown' : 'allowed';
    case 'esc':
      if (!oneChar(x)) return decide(words, rest, after, flags);
      break;
    case 'group': {
      if (x.kind !== 'capture' && x.kind !== 'noncap') {
        if (x.kind === 'atomic') break;
        return decide(words, rest, after, flags);
      }
      if (x.on !== '' || x.off !== '') break;
      const branches = x.body.t === 'alt' ? x.body.branches : [x.body];
      const verdicts = new Set(
        branches.map((b) => decide(words, [...itemsOf(b), ...rest], after, flags)),
      );
      return verdicts.size === 1 ? ([...verdicts][0] as Verdict) : 'unknown';
    }
    default:
  }
  return byFollow(words, first({ t: 'seq', items: [...items] }, after.follow, flags));
}

/** 'allowed' when no character the text may start with begins a word. */
function byFollow(words: readonly string[], follow: Follow): Verdict {
  if (follow.atoms === 'any') return 'unknown';
  const starts = words.map((w) => w[0] as string);
  const atoms = follow.atoms;
  return starts.every((c) => atoms.every((a) => member(a, c) === false)) ? 'allowed' : 'unknown';
}

/** The words that start with `c`, without it. */
function residual(words: readonly string[], c: string): string[] {
  return words.filter((w) => w.startsWith(c)).map((w) => w.slice(1));
}

function nothingOr(verdict: Verdict): Node[] | null {
  if (verdict === 'unknown') return null;
  return verdict === 'allowed' ? [] : [FAIL];
}

function itemsOf(n: Node): readonly Node[] {
  return n.t === 'seq' ? n.items : [n];
}

/** `atom` `lo` to `hi` times (no upper bound when null); nothing when `hi` is 0. */
function repeat(atom: Node, lo: number, hi: number | null, lazy: boolean): Node {
  if (hi === 0) return EMPTY;
  return { t: 'quant', body: atom, min: Math.max(0, lo), max: hi, lazy, possessive: false };
}

/** The one-character `atom` without `letters` (FAIL when nothing is left), or null when unknown. */
function minus(atom: Node, letters: readonly string[], flags: Flags): Node | null {
  const cut: string[] = [];
  for (const c of letters) {
    const inside = member({ node: atom, flags }, c);
    if (inside === undefined) return null;
    if (inside) cut.push(c);
  }
  if (cut.length === 0) return atom;
  const chars: ClassItem[] = cut.map((c) => ({ t: 'char', c }));
  switch (atom.t) {
    case 'char':
      return FAIL;
    case 'any':
      return {
        t: 'class',
        negated: true,
        items: flags.dotall ? chars : [{ t: 'char', c: '\n' }, ...chars],
      };
    case 'esc':
      return { t: 'class', negated: true, items: [{ t: 'esc', e: opposite(atom.e) }, ...chars] };
    case 'class': {
      if (atom.negated) return { ...atom, items: [...atom.items, ...chars] };
      const parts: Node[] = [];
      const plain: ClassItem[] = [];
      for (const item of atom.items) {
        if (item.t === 'esc') {
          if (!'dDwWsS'.includes(item.e)) return null;
          parts.push({
            t: 'class',
            negated: true,
            items: [{ t: 'esc', e: opposite(item.e) }, ...chars],
          });
        } else if (item.t === 'char') {
          if (!cut.includes(item.c)) plain.push(item);
        } else plain.push(...splitRange(item, cut));
      }
      if (plain.length > 0) parts.push({ t: 'class', negated: false, items: plain });
      if (parts.length === 0) return FAIL;
      if (parts.length === 1) return parts[0] as Node;
      return {
        t: 'group',
        kind: 'noncap',
        name: null,
        on: '',
        off: '',
        body: { t: 'alt', branches: parts },
      };
    }
    default:
      return null;
  }
}

function opposite(e: string): string {
  return e === e.toLowerCase() ? e.toUpperCase() : e.toLowerCase();
}

/** A class range without the characters `cut`. */
function splitRange(
  range: Extract<ClassItem, { t: 'range' }>,
  cut: readonly string[],
): ClassItem[] {
  const out: ClassItem[] = [];
  let from = range.from.charCodeAt(0);
  const to = range.to.charCodeAt(0);
  const holes = cut
    .map((c) => c.charCodeAt(0))
    .filter((c) => c >= from && c <= to)
    .sort((a, b) => a - b);
  const push = (a: number, b: number): void => {
    if (a > b) return;
    const lo = String.fromCharCode(a);
    out.push(a === b ? { t: 'char', c: lo } : { t: 'range', from: lo, to: String.fromCharCode(b) });
  };
  for (const h of holes) {
    push(from, h - 1);
    from = h + 1;
  }
  push(from, to);
  return out;
}
