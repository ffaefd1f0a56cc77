// Static check for the few patterns that cannot run on V8's linear engine (lookaround, backreference): exponential nesting refused at load.
import { parsePythonRegex, PyRegexSyntaxError, type Node } from './regex-ast.js';

/**
 * Finds the classic exponential shapes: an unbounded repeat whose body is itself only an
 * unbounded repeat (`(a+)+`, `(?:\s*)*`, `(.*)*`), or an unbounded repeat of an alternation
 * whose branches can start alike (`(a|ab)*`, `(\w|\d)+`). Returns a description of the first
 * one, or null. Stock fail2ban filters nest repeats only around a separator (`(?:.*\n)*?`),
 * which is linear and passes. Patterns the linear engine runs need no such check (GHSA-33wh-ccjc-p397).
 */
export function checkRegexSafety(source: string): RegexSafety | null {
  let root: Node;
  try {
    root = parsePythonRegex(source).root;
  } catch (e) {
    if (e instanceof PyRegexSyntaxError) return null; // reported by the translator instead
    throw e;
  }
  return find(root);
}

/**
 * `refuse`: a repeat of a repeat, exponential on any near-miss, never loaded. `warn`: a repeat
 * of overlapping alternatives; some stock filters have these (grafana, sshd's rfc5424 prefix),
 * so they load with a notice.
 */
export interface RegexSafety {
  readonly severity: 'refuse' | 'warn';
  readonly reason: string;
}

function find(n: Node): RegexSafety | null {
  switch (n.t) {
    case 'quant': {
      if (n.max === null) {
        const inner = core(n.body);
        if (inner.t === 'quant' && inner.max === null) {
          return {
            severity: 'refuse',
            reason: 'a repeat of a repeat such as (a+)+ can backtrack exponentially',
          };
        }
        if (inner.t === 'alt' && overlapping(inner.branches)) {
          const deeper = find(n.body);
          if (deeper?.severity === 'refuse') return deeper;
          return {
            severity: 'warn',
            reason:
              'a repeat of alternatives that can match the same text, such as (a|ab)*, may backtrack heavily',
          };
        }
      }
      return find(n.body);
    }
    case 'seq':
      return first(n.items);
    case 'alt':
      return first(n.branches);
    case 'group':
      return find(n.body);
    case 'cond':
      return first([n.yes, n.no]);
    default:
      return null;
  }
}

function first(nodes: readonly Node[]): RegexSafety | null {
  let warn: RegexSafety | null = null;
  for (const x of nodes) {
    const r = find(x);
    if (r?.severity === 'refuse') return r;
    warn ??= r;
  }
  return warn;
}

/** Strips groups and one-item sequences: what a repeat really repeats. */
function core(n: Node): Node {
  let cur = n;
  for (;;) {
    if (cur.t === 'group' && (cur.kind === 'capture' || cur.kind === 'noncap')) cur = cur.body;
    else if (cur.t === 'seq' && cur.items.length === 1) cur = cur.items[0] as Node;
    else return cur;
  }
}

/** Whether two branches may begin with the same character (by their first literal; unknown = may). */
function overlapping(branches: readonly Node[]): boolean {
  const starts = branches.map(firstChar);
  for (let i = 0; i < starts.length; i++) {
    for (let j = i + 1; j < starts.length; j++) {
      const a = starts[i];
      const b = starts[j];
      if (a === null || b === null || a === b) return true;
    }
  }
  return false;
}

function firstChar(n: Node): string | null {
  const c = core(n);
  if (c.t === 'char') return c.c;
  if (c.t === 'seq') {
    const head = c.items[0];
    return head === undefined ? '' : firstChar(head);
  }
  return null;
}
