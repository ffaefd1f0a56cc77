// Regex text for built-in filters: literals, and exclusions written as alternations so that no filter needs a lookahead and all run on V8's linear-time engine.

/** Escapes text for literal use inside a regex. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * A run of `cls` characters, `min` to `max` long, that is not `word` (`whole`) or does not start
 * with it (`prefix`): `(?!word\b)cls{min,max}` or `(?!word)cls{min,max}` when the run ends at a
 * character outside `cls`. Written as the ways a run can differ from `word`: it leaves it at
 * some character, stops before its end, or (`whole`) goes on after it. `cls` is a JavaScript
 * class: negated (`[^\]\s"]`), or positive over ASCII (`[\w-]`, `[A-Z]`).
 */
export function runExcept(
  cls: string,
  min: number,
  max: number,
  word: string,
  how: 'whole' | 'prefix',
): string {
  const n = word.length;
  if (n === 0 || max < 1) throw new TypeError(`runExcept: nothing to exclude from ${cls}`);
  const step = (i: number): string => {
    const branches: string[] = [];
    const c = word[i] as string;
    branches.push(`${without(cls, c)}${repeat(cls, min - i - 1, max - i - 1)}`);
    if (i + 1 < n) {
      if (i + 1 < max) branches.push(`${literal(c)}${step(i + 1)}`);
      else if (i + 1 >= min) branches.push(literal(c));
    } else if (how === 'whole' && max > n) {
      branches.push(`${literal(c)}${repeat(cls, Math.max(1, min - n), max - n)}`);
    }
    // The run may stop after `i` characters of the word (i >= 1; an empty run is the caller's).
    if (i > 0 && i >= min) branches.push('');
    return `(?:${branches.join('|')})`;
  };
  const run = step(0);
  return min === 0 ? `${run}?` : run;
}

/** `cls` repeated lo..hi times ('' when hi is 0). */
function repeat(cls: string, lo: number, hi: number): string {
  const from = Math.max(0, lo);
  if (hi <= 0) return '';
  return from === hi ? `${cls}{${hi}}` : `${cls}{${from},${hi}}`;
}

/** The class `cls` without the character `c`. */
function without(cls: string, c: string): string {
  if (cls.startsWith('[^')) return `${cls.slice(0, -1)}${classChar(c)}]`;
  if (!cls.startsWith('[') || /\\[sSWDpP]|[^\x20-\x7e]/.test(cls))
    throw new TypeError(`runExcept: ${cls} is not a negated or ASCII class`);
  const re = new RegExp(`^${cls}$`);
  let out = '';
  let start = -1;
  for (let code = 0; code <= 0x80; code++) {
    const ch = String.fromCharCode(code);
    const member = code < 0x80 && ch !== c && re.test(ch);
    if (member && start < 0) start = code;
    if (!member && start >= 0) {
      const from = classChar(String.fromCharCode(start));
      out += code - 1 === start ? from : `${from}-${classChar(String.fromCharCode(code - 1))}`;
      start = -1;
    }
  }
  return `[${out}]`;
}

function classChar(c: string): string {
  if (/[\\\]^[-]/.test(c)) return `\\${c}`;
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c;
}

/**
 * Text without ` word ` (the word between spaces) anywhere in it, for a word of non-space
 * characters: `(?:(?! word ).)*` without the lookahead. The text is cut at each run of spaces;
 * what follows a run may not be the word and then a space. It may be a part of the word (the next
 * run follows), the word's first characters and then another one, or the whole word and then a
 * non-space. Text ending in ` word` itself is not accepted: no filter needs it, and it keeps the
 * pattern short.
 */
export function textWithout(word: string): string {
  if (word === '' || /\s/.test(word)) throw new TypeError(`textWithout: "${word}" is no word`);
  const n = word.length;
  const differ: string[] = [];
  for (let i = 0; i < n; i++) {
    differ.push(`${literal(word.slice(0, i))}[^ ${classChar(word[i] as string)}]`);
  }
  differ.push(`${literal(word)}[^ ]`);
  const partial: string[] = [];
  for (let i = 1; i < n; i++) partial.push(literal(word.slice(0, i)));
  const after = `(?:(?:${differ.join('|')})[^ ]*${partial.length > 0 ? `|${partial.join('|')}` : ''})?`;
  return `[^ ]*(?: +${after})*`;
}
