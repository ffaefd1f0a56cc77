// Finds a literal substring every match of a regex must contain, so most lines are rejected by a cheap includes().

const CLASS_ESCAPES = new Set('dDwWsSbBnrtfv0123456789kpPuxc');

/**
 * The longest run of literal characters that any match of `source` (JavaScript syntax, no
 * flags) must contain, or '' when none can be proven (e.g. a top-level alternation).
 * Groups, classes and optional characters break runs; their contents are never required.
 */
export function requiredLiteral(source: string): string {
  let best = '';
  let run = '';
  // Whether the last token appended one character to `run` (a quantifier then applies to it).
  let lastWasChar = false;
  const commit = (): void => {
    if (run.length > best.length) best = run;
    run = '';
    lastWasChar = false;
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '\\') {
      const e = source[i + 1] ?? '';
      i += 2;
      if (e === '' || CLASS_ESCAPES.has(e)) {
        commit();
      } else {
        run += e;
        lastWasChar = true;
      }
      continue;
    }
    if (c === '|') return '';
    if (c === '(') {
      commit();
      i = skipGroup(source, i);
      continue;
    }
    if (c === '[') {
      commit();
      i = skipClass(source, i);
      continue;
    }
    if (c === '*' || c === '?' || c === '+' || c === '{') {
      const q = c === '{' ? /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i)) : null;
      if (c === '{' && q === null) {
        run += c;
        lastWasChar = true;
        i++;
        continue;
      }
      const min = c === '+' ? 1 : q === null ? 0 : Number(q[1]);
      if (min === 0 && lastWasChar) run = run.slice(0, -1);
      commit();
      i += q === null ? 1 : q[0].length;
      if (source[i] === '?') i++;
      continue;
    }
    if (c === '.' || c === '^' || c === '$') {
      commit();
      i++;
      continue;
    }
    run += c;
    lastWasChar = true;
    i++;
  }
  commit();
  return best;
}

/** Index just past the group that opens at `start`. */
function skipGroup(source: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === '[') i = skipClass(source, i);
    else {
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) return i + 1;
      i++;
    }
  }
  return i;
}

/** Index just past the character class that opens at `start`. */
function skipClass(source: string, start: number): number {
  let i = start + 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') i += 2;
    else if (c === ']') return i + 1;
    else i++;
  }
  return i;
}
