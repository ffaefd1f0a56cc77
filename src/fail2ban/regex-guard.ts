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
        if (inner.t === 'seq' && onlyRepeatsRequired(inner.items)) {
          return {
            severity: 'refuse',
            reason:
              'a repeat of a group whose only required parts are repeats, such as (\\w+\\s?)+ or (x+x+)+, can backtrack exponentially',
          };
        }
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

/** Whether a repeated sequence holds an unbounded repeat and nothing else it must match: each iteration can then be split many ways. */
function onlyRepeatsRequired(items: readonly Node[]): boolean {
  const unbounded = (x: Node): boolean => {
    const c = core(x);
    return c.t === 'quant' && c.max === null;
  };
  return items.some(unbounded) && items.every((x) => unbounded(x) || minLength(x) === 0);
}

/** Fewest characters `n` can match (lookarounds, anchors and backreferences: 0). */
function minLength(n: Node): number {
  switch (n.t) {
    case 'char':
    case 'class':
    case 'any':
      return 1;
    case 'esc':
      return 'AZbB'.includes(n.e) ? 0 : 1;
    case 'quant':
      return n.min * minLength(n.body);
    case 'seq':
      return n.items.reduce((sum, x) => sum + minLength(x), 0);
    case 'alt':
      return Math.min(...n.branches.map(minLength));
    case 'group':
      return n.kind === 'capture' || n.kind === 'noncap' || n.kind === 'atomic'
        ? minLength(n.body)
        : 0;
    case 'cond':
      return Math.min(minLength(n.yes), minLength(n.no));
    default:
      return 0;
  }
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
