// Parses Python `re` pattern text into a small syntax tree, so it can be re-emitted as JavaScript by code, not by hand.

export type ClassItem =
  | { readonly t: 'char'; readonly c: string }
  | { readonly t: 'range'; readonly from: string; readonly to: string }
  | { readonly t: 'esc'; readonly e: string };

export type GroupKind = 'capture' | 'noncap' | 'ahead' | 'nahead' | 'behind' | 'nbehind' | 'atomic';

export type Node =
  | { readonly t: 'seq'; readonly items: Node[] }
  | { readonly t: 'alt'; readonly branches: Node[] }
  | {
      readonly t: 'group';
      readonly kind: GroupKind;
      readonly name: string | null;
      readonly body: Node;
      /** Scoped flags `(?i:…)`: added and removed letters. */
      readonly on: string;
      readonly off: string;
    }
  | { readonly t: 'cond'; readonly ref: string; readonly yes: Node; readonly no: Node }
  | {
      readonly t: 'quant';
      readonly body: Node;
      readonly min: number;
      readonly max: number | null;
      readonly lazy: boolean;
      readonly possessive: boolean;
    }
  | { readonly t: 'class'; readonly negated: boolean; readonly items: ClassItem[] }
  | { readonly t: 'char'; readonly c: string }
  | { readonly t: 'any' }
  | { readonly t: 'bol' }
  | { readonly t: 'eol' }
  /** \A \Z \b \B \d \D \w \W \s \S */
  | { readonly t: 'esc'; readonly e: string }
  | { readonly t: 'backref'; readonly ref: string };

/** A construct the parser cannot read; `construct` names it for the error message. */
export class PyRegexSyntaxError extends Error {
  readonly construct: string;
  readonly position: number;
  constructor(construct: string, position: number, message: string) {
    super(message);
    this.name = 'PyRegexSyntaxError';
    this.construct = construct;
    this.position = position;
  }
}

export interface ParsedRegex {
  readonly root: Node;
  /** Flags set globally by `(?i)`, `(?s)`, … anywhere in the pattern (Python applies them to all of it). */
  readonly globalFlags: string;
  /** Capture group names in order of their opening parenthesis (null for unnamed ones). */
  readonly groups: readonly (string | null)[];
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  f: '\f',
  v: '\v',
  a: '\x07',
};

/** Parses Python regex text; throws PyRegexSyntaxError naming the construct it could not read. */
export function parsePythonRegex(source: string): ParsedRegex {
  let pos = 0;
  let globalFlags = '';
  const groups: (string | null)[] = [];
  const fail = (construct: string, why: string): never => {
    throw new PyRegexSyntaxError(construct, pos, `${why} at position ${pos}`);
  };

  const parseAlt = (): Node => {
    const branches: Node[] = [parseSeq()];
    while (source[pos] === '|') {
      pos++;
      branches.push(parseSeq());
    }
    return branches.length === 1 ? (branches[0] as Node) : { t: 'alt', branches };
  };

  const parseSeq = (): Node => {
    const items: Node[] = [];
    while (pos < source.length && source[pos] !== '|' && source[pos] !== ')') {
      const atom = parseAtom();
      if (atom === null) continue;
      items.push(parseQuantifier(atom));
    }
    return { t: 'seq', items };
  };

  const parseQuantifier = (atom: Node): Node => {
    let node = atom;
    for (;;) {
      const c = source[pos];
      let min: number;
      let max: number | null;
      if (c === '*') [min, max, pos] = [0, null, pos + 1];
      else if (c === '+') [min, max, pos] = [1, null, pos + 1];
      else if (c === '?') [min, max, pos] = [0, 1, pos + 1];
      else if (c === '{') {
        const m = /^\{(\d*)(?:(,)(\d*))?\}/.exec(source.slice(pos));
        // Python reads a brace that is not a valid repeat as literal text, like `{` alone.
        if (m === null || (m[1] === '' && m[2] === undefined)) return node;
        min = m[1] === '' ? 0 : Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? null : Number(m[3]);
        pos += m[0].length;
      } else return node;
      if (node.t === 'quant') fail('multiple repeat', 'a quantifier follows a quantifier');
      let lazy = false;
      let possessive = false;
      if (source[pos] === '?') [lazy, pos] = [true, pos + 1];
      else if (source[pos] === '+') [possessive, pos] = [true, pos + 1];
      node = { t: 'quant', body: node, min, max, lazy, possessive };
    }
  };

  const parseGroup = (): Node | null => {
    pos++; // (
    if (source[pos] !== '?') {
      groups.push(null);
      return closeGroup({ kind: 'capture', name: null, on: '', off: '' });
    }
    pos++;
    const rest = source.slice(pos);
    let m: RegExpExecArray | null;
    if ((m = /^P<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest)) !== null) {
      pos += m[0].length;
      groups.push(m[1] ?? '');
      return closeGroup({ kind: 'capture', name: m[1] ?? '', on: '', off: '' });
    }
    if ((m = /^<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest)) !== null) {
      pos += m[0].length;
      groups.push(m[1] ?? '');
      return closeGroup({ kind: 'capture', name: m[1] ?? '', on: '', off: '' });
    }
    if ((m = /^P=([A-Za-z_][A-Za-z0-9_]*)\)/.exec(rest)) !== null) {
      pos += m[0].length;
      return { t: 'backref', ref: m[1] ?? '' };
    }
    if ((m = /^\(([A-Za-z_][A-Za-z0-9_]*|\d+)\)/.exec(rest)) !== null) {
      pos += m[0].length;
      const ref = m[1] ?? '';
      const body = parseAlt();
      let yes: Node = body;
      let no: Node = { t: 'seq', items: [] };
      if (body.t === 'alt') {
        if (body.branches.length > 2)
          fail('conditional (?(name)…)', 'a conditional has more than two branches');
        yes = body.branches[0] as Node;
        no = body.branches[1] as Node;
      }
      if (source[pos] !== ')') fail('conditional (?(name)…)', 'unterminated conditional');
      pos++;
      return { t: 'cond', ref, yes, no };
    }
    if (rest.startsWith('#')) {
      const end = source.indexOf(')', pos);
      if (end < 0) fail('comment (?#…)', 'unterminated comment');
      pos = end + 1;
      return null;
    }
    const kinds: readonly [string, GroupKind][] = [
      [':', 'noncap'],
      ['=', 'ahead'],
      ['!', 'nahead'],
      ['<=', 'behind'],
      ['<!', 'nbehind'],
      ['>', 'atomic'],
    ];
    for (const [prefix, kind] of kinds) {
      if (rest.startsWith(prefix)) {
        pos += prefix.length;
        return closeGroup({ kind, name: null, on: '', off: '' });
      }
    }
    if ((m = /^([aiLmsux]*)(?:-([imsx]+))?([:)])/.exec(rest)) !== null) {
      pos += m[0].length;
      const on = m[1] ?? '';
      const off = m[2] ?? '';
      if (m[3] === ')') {
        // `(?i)`: Python applies global flags to the whole pattern.
        if (off !== '') fail('(?-flags)', 'flags can be turned off only in a scoped group');
        globalFlags += on;
        return null;
      }
      return closeGroup({ kind: 'noncap', name: null, on, off });
    }
    return fail(`(?${rest.slice(0, 2)}`, 'unknown group extension');
  };

  const closeGroup = (g: {
    kind: GroupKind;
    name: string | null;
    on: string;
    off: string;
  }): Node => {
    const body = parseAlt();
    if (source[pos] !== ')') fail('(', 'missing ), unterminated subpattern');
    pos++;
    return { t: 'group', kind: g.kind, name: g.name, body, on: g.on, off: g.off };
  };

  const parseEscape = (inClass: boolean): Node | ClassItem => {
    pos++; // backslash
    const c = source[pos];
    if (c === undefined) return fail('\\', 'bad escape (end of pattern)');
    pos++;
    if (Object.hasOwn(SIMPLE_ESCAPES, c)) return { t: 'char', c: SIMPLE_ESCAPES[c] ?? '' };
    if ('dDwWsS'.includes(c)) return { t: 'esc', e: c };
    if (c === 'x' || c === 'u' || c === 'U') {
      const len = c === 'x' ? 2 : c === 'u' ? 4 : 8;
      const hex = source.slice(pos, pos + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex))
        fail(`\\${c}`, `incomplete escape \\${c}`);
      pos += len;
      return { t: 'char', c: String.fromCodePoint(parseInt(hex, 16)) };
    }
    if (c === '0') {
      const oct = /^[0-7]{0,2}/.exec(source.slice(pos))?.[0] ?? '';
      pos += oct.length;
      return { t: 'char', c: String.fromCharCode(parseInt(`0${oct}`, 8)) };
    }
    if (/[1-9]/.test(c)) {
      const digits = c + (/^\d?/.exec(source.slice(pos))?.[0] ?? '');
      pos += digits.length - 1;
      if (inClass) return fail(`\\${digits}`, 'a back reference inside a character class');
      return { t: 'backref', ref: digits };
    }
    if (inClass) {
      if (c === 'b') return { t: 'char', c: '\b' };
      if ('AZB'.includes(c)) return fail(`\\${c}`, 'bad escape inside a character class');
    } else if ('AZbB'.includes(c)) return { t: 'esc', e: c };
    if (/[A-Za-z]/.test(c)) return fail(`\\${c}`, `bad escape \\${c}`);
    return { t: 'char', c };
  };

  const parseClass = (): Node => {
    pos++; // [
    let negated = false;
    if (source[pos] === '^') [negated, pos] = [true, pos + 1];
    const items: ClassItem[] = [];
    // Python reads `]` right after `[` or `[^` as a literal member, JavaScript as the end.
    let first = true;
    for (;;) {
      const c = source[pos];
      if (c === undefined) return fail('[', 'unterminated character set');
      if (c === ']' && !first) {
        pos++;
        break;
      }
      first = false;
      let item: ClassItem;
      if (c === '\\') item = parseEscape(true) as ClassItem;
      else {
        item = { t: 'char', c };
        pos++;
      }
      if (
        item.t === 'char' &&
        source[pos] === '-' &&
        source[pos + 1] !== ']' &&
        source[pos + 1] !== undefined
      ) {
        pos++;
        const endChar =
          source[pos] === '\\'
            ? (parseEscape(true) as ClassItem)
            : { t: 'char' as const, c: source[pos++] ?? '' };
        if (endChar.t !== 'char') return fail('[a-\\d]', 'bad character range');
        if (endChar.c < item.c) return fail(`[${item.c}-${endChar.c}]`, 'bad character range');
        items.push({ t: 'range', from: item.c, to: endChar.c });
        continue;
      }
      items.push(item);
    }
    return { t: 'class', negated, items };
  };

  const parseAtom = (): Node | null => {
    const c = source[pos] as string;
    switch (c) {
      case '(':
        return parseGroup();
      case '[':
        return parseClass();
      case '\\':
        return parseEscape(false) as Node;
      case '.':
        pos++;
        return { t: 'any' };
      case '^':
        pos++;
        return { t: 'bol' };
      case '$':
        pos++;
        return { t: 'eol' };
      case '*':
      case '+':
      case '?':
        return fail(c, 'nothing to repeat');
      case '{':
        if (/^\{\d*(?:,\d*)?\}/.test(source.slice(pos)) && source.slice(pos, pos + 2) !== '{}') {
          // `{,n}` or `{n}` with nothing before it.
          if (/^\{\d+(?:,\d*)?\}|^\{,\d+\}/.test(source.slice(pos)))
            return fail(c, 'nothing to repeat');
        }
        pos++;
        return { t: 'char', c };
      default: {
        const cp = source.codePointAt(pos) ?? 0;
        const ch = String.fromCodePoint(cp);
        pos += ch.length;
        return { t: 'char', c: ch };
      }
    }
  };

  const root = parseAlt();
  if (pos < source.length) fail(')', 'unbalanced parenthesis');
  return { root, globalFlags, groups };
}
