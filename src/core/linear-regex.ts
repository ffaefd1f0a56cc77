// Puts every filter regex under V8's linear-time fallback, and names what a pattern uses that the linear engine cannot run.
import { setFlagsFromString } from 'node:v8';

/**
 * Backtracks one match may spend before V8 reruns it on its linear-time engine (V8's default):
 * a few milliseconds at most. Set lower, linear patterns on long ordinary lines (a lazy `.*?`
 * over 8 KiB: about 8,000 backtracks) would fall back too, and the linear engine is many times
 * slower than backtracking on them; a hostile line costs this much plus one linear pass.
 */
export const BACKTRACKS_BEFORE_FALLBACK = 50_000;

/** V8 multiplies nested counted repeats (`{1,4}` inside `{1,7}`) and refuses products above this. */
export const MAX_REPLICATION = 16;

let enabled = false;

/**
 * Turns on V8's fallback to its linear engine for every RegExp compiled from now on (the backtrack
 * limit is fixed when a RegExp is created), and the `l` flag the load-time check uses. Idempotent;
 * the filter compilers call it before they create a RegExp, so every process that runs filters
 * (server, test-filter, config check) has it and the agent, which runs none, does not.
 */
export function enableLinearRegex(): void {
  if (enabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine');
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACKS_BEFORE_FALLBACK}`);
  enabled = true;
}

/** What keeps a pattern off the linear engine: `backtracking` constructs can run on the other engine, `size` ones cannot be made safe. */
export interface LinearObstacle {
  readonly kind: 'backtracking' | 'size';
  /** The construct, for messages: "a negative lookahead (?!…)". */
  readonly construct: string;
}

/**
 * Why `source` compiled with `flags` cannot run on V8's linear engine, or null when it can (and
 * so can never backtrack catastrophically). Names the construct: a lookaround, a backreference,
 * a flag, or counted repeats nested too deep.
 */
export function linearObstacle(source: string, flags = ''): LinearObstacle | null {
  enableLinearRegex();
  try {
    new RegExp(source, `${flags}l`);
    return null;
  } catch {
    return describeObstacle(source, flags);
  }
}

/**
 * A repeat of a group that itself holds an unbounded repeat (`(\w+\s?)+`, `(?:a*b)*`): the
 * shape behind exponential backtracking. Returns the group's text, or null. Used only for the
 * patterns the linear engine cannot take; it is deliberately strict, since nothing else
 * bounds them.
 */
export function nestedRepeat(source: string): string | null {
  const open: { start: number; inner: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      inClass = c !== ']';
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') open.push({ start: i, inner: false });
    else if (c === ')') {
      const group = open.pop();
      if (group === undefined) continue;
      const repeated = unboundedAt(source, i + 1);
      if (repeated && group.inner) return source.slice(group.start, i + 2);
      const parent = open[open.length - 1];
      if (parent !== undefined && (group.inner || repeated)) parent.inner = true;
    } else if (unboundedAt(source, i) && open.length > 0) {
      const top = open[open.length - 1];
      if (top !== undefined) top.inner = true;
    }
  }
  return null;
}

/** Whether an unbounded quantifier (`*`, `+`, `{n,}`) starts at `i`. */
function unboundedAt(source: string, i: number): boolean {
  const c = source[i];
  return c === '*' || c === '+' || (c === '{' && /^\{\d+,\}/.test(source.slice(i, i + 12)));
}

/**
 * Reads counted repeats too large for the linear engine (`{0,256}`, `{1,4096}`) as unbounded
 * (`*`, `+`, `{m,}`): the engine would have to unroll them, and their purpose, capping how far
 * a backtracking engine may wander, is served by the linear fallback. Smaller counts and
 * repeats of at least 16 stay as written. Works on JavaScript pattern text, skipping escapes
 * and classes.
 */
export function relaxLargeRepeats(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] ?? '';
    if (c === '\\') {
      out += c + (source[i + 1] ?? '');
      i++;
      continue;
    }
    if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '{') {
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(source.slice(i, i + 24));
      if (m !== null) {
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max > MAX_REPLICATION && min < MAX_REPLICATION && max !== Infinity) {
          out += min === 0 ? '*' : min === 1 ? '+' : `{${min},}`;
          i += m[0].length - 1;
          continue;
        }
      }
    }
    out += c;
  }
  return out;
}

/** Finds the first construct the linear engine refuses; scanning JavaScript pattern syntax, skipping classes and escapes. */
function describeObstacle(source: string, flags: string): LinearObstacle {
  const flag = /[uvid]/.exec(flags)?.[0];
  if (flag !== undefined) return { kind: 'backtracking', construct: `the ${flag} flag` };
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && (next === 'k' || /[1-9]/.test(next))) {
        const ref = next === 'k' ? source.slice(i, source.indexOf('>', i) + 1) : `\\${next}`;
        return { kind: 'backtracking', construct: `a backreference ${ref}` };
      }
      i++;
    } else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(' && source[i + 1] === '?') {
      const kind = source.slice(i + 2, i + 4);
      const construct = kind.startsWith('=')
        ? 'a lookahead (?=…)'
        : kind.startsWith('!')
          ? 'a negative lookahead (?!…)'
          : kind === '<='
            ? 'a lookbehind (?<=…)'
            : kind === '<!'
              ? 'a negative lookbehind (?<!…)'
              : '';
      if (construct !== '') return { kind: 'backtracking', construct };
    }
  }
  return {
    kind: 'size',
    construct: `counted repeats that multiply above ${MAX_REPLICATION} (such as (?:a{1,4}){1,5}), which the linear engine would have to unroll`,
  };
}
