// Rewrites the lookaheads of a Python pattern that can be written without one, so the pattern runs on V8's linear-time engine.
import { excludeWords } from './excluded-words.js';
import {
  continuation,
  disjoint,
  first,
  oneChar,
  OPEN,
  scoped,
  union,
  within,
  type Atom,
  type Continuation,
  type Flags,
} from './follow.js';
import type { Node } from './regex-ast.js';

/**
 * Takes out the lookaheads the linear engine does not need, keeping what the pattern matches
 * and its groups:
 * - a one-character `(?=C)` or `(?!C)` that every way the pattern can go on decides the same
 *   way is left out: exim's `"[^"]+(?:"+[^"]*(?="))*?"` is always followed by a `"`;
 * - a `(?!word|…)` of literal words before a run of one class (`(?!evasive)\S+:`,
 *   `(?!ip=)(?:user=…|\w+=…)`) becomes the ways the run can differ from each word
 *   (excluded-words.ts).
 * Other lookarounds stay, and the translator then refuses the pattern for the linear engine.
 * `flags` are the pattern's global ones.
 */
export function rewriteLookaheads(root: Node, flags: string): Node {
  const end: Continuation = { items: [], next: null, follow: OPEN };
  return rewrite(root, end, { ci: flags.includes('i'), dotall: flags.includes('s') });
}

function rewrite(n: Node, after: Continuation, flags: Flags): Node {
  switch (n.t) {
    case 'seq': {
      let items: Node[] = [];
      for (let i = n.items.length - 1; i >= 0; i--) {
        const item = n.items[i] as Node;
        const here = continuation(items, after, flags);
        if (implied(item, here, flags)) continue;
        const words = excludedWords(item);
        const rewritten = words === null ? null : excludeWords(words, items, after, flags);
        items = rewritten ?? [rewrite(item, here, flags), ...items];
      }
      return { t: 'seq', items };
    }
    case 'alt':
      return { t: 'alt', branches: n.branches.map((b) => rewrite(b, after, flags)) };
    case 'group': {
      if (n.kind !== 'capture' && n.kind !== 'noncap' && n.kind !== 'atomic') return n;
      return { ...n, body: rewrite(n.body, after, scoped(n, flags)) };
    }
    case 'cond':
      return { ...n, yes: rewrite(n.yes, after, flags), no: rewrite(n.no, after, flags) };
    case 'quant': {
      if (n.max === 1) return { ...n, body: rewrite(n.body, after, flags) };
      // After one pass of the body comes another pass, or what follows the repeat.
      const again = union(first(n.body, after.follow, flags), after.follow);
      return { ...n, body: rewrite(n.body, { items: [], next: null, follow: again }, flags) };
    }
    default:
      return n;
  }
}

/** Whether `n` is a one-character lookahead that what follows always decides the same way. */
function implied(n: Node, here: Continuation, flags: Flags): boolean {
  if (n.t !== 'group' || (n.kind !== 'ahead' && n.kind !== 'nahead')) return false;
  const atom = single(n.body);
  const follow = here.follow;
  if (atom === null || follow.atoms === 'any') return false;
  const tested: Atom = { node: atom, flags: scoped(n, flags) };
  if (n.kind === 'ahead') return !follow.end && follow.atoms.every((a) => within(a, tested));
  return follow.atoms.every((a) => disjoint(a, tested));
}

/** The one-character item a lookahead body consists of, or null. */
function single(n: Node): Node | null {
  let cur = n;
  for (;;) {
    if (cur.t === 'seq' && cur.items.length === 1) cur = cur.items[0] as Node;
    else if (cur.t === 'group' && cur.kind === 'noncap' && cur.on === '' && cur.off === '')
      cur = cur.body;
    else return oneChar(cur) ? cur : null;
  }
}

/** The literal words of a negative lookahead `(?!ab|cd)`, or null. */
function excludedWords(n: Node): string[] | null {
  if (n.t !== 'group' || n.kind !== 'nahead' || n.on !== '' || n.off !== '') return null;
  const branches = n.body.t === 'alt' ? n.body.branches : [n.body];
  const words: string[] = [];
  for (const b of branches) {
    let word = '';
    for (const x of b.t === 'seq' ? b.items : [b]) {
      if (x.t !== 'char') return null;
      word += x.c;
    }
    if (word === '') return null;
    words.push(word);
  }
  return words;
}
