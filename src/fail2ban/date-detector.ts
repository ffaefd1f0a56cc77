// fail2ban's date detection: finds the timestamp in a log line (default templates or a filter's datepattern) and removes it.
import { expandDirectives, fieldsToEpoch, hasAlphaDirective, type LocalZone } from './strptime.js';
import { translatePythonRegex } from './regex.js';

/** One date template: a RegExp whose group 1 is the date text. */
interface DateTemplate {
  readonly name: string;
  readonly regexp: RegExp;
  readonly lineBegin: boolean;
  readonly kind: 'pattern' | 'epoch' | 'lepoch' | 'tai64n' | 'none';
}

/** A date found in a line: where group 1 lay, and the instant (null when the text names none). */
export interface DateMatch {
  readonly start: number;
  readonly end: number;
  readonly time: number | null;
}

const DEFAULT_PATTERNS: readonly string[] = [
  String.raw`%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`,
  String.raw`(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  String.raw`(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?`,
  String.raw`%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S`,
  String.raw`%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?`,
  String.raw`%m/%d/%ExY:%H:%M:%S`,
  String.raw`%m-%d-%ExY %k:%M:%S(?:\.%f)?`,
  'EPOCH',
  String.raw`{^LN-BEG}%H:%M:%S`,
  String.raw`^<%m/%d/%Exy@%H:%M:%S>`,
  String.raw`%Exy%Exm%Exd  ?%H:%M:%S`,
  String.raw`%b %d, %ExY %I:%M:%S %p`,
  String.raw`^%b-%d-%Exy %k:%M:%S`,
  String.raw`%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?`,
  String.raw`(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  String.raw`(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
  'TAI64N',
];

const EPOCH = String.raw`\d{10,11}\b(?:\.\d{3,6})?`;
const LONG_EPOCH = String.raw`\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?`;
const WORD_END = String.raw`(?=\b|\W|$)`;

const NO_WORD_BOUND_BEGIN = /^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)/;
const NO_WORD_BOUND_END = /(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$/;
const HAS_GROUP = /(?<!\(\?)(?<!\\)\((?!\?)/;
const LINE_BOUND_BEGIN = /^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))/;
const GLOBAL_FLAGS = /(?:^|)\(\?[a-z]+\)/;

function special(key: string, lineBegin: boolean): DateTemplate | null {
  const begin = lineBegin ? String.raw`^(?:\W{0,2})?` : '';
  switch (key) {
    case 'EPOCH':
      return lineBegin
        ? {
            name: '{^LN-BEG}Epoch',
            regexp: new RegExp(`${begin}(${EPOCH})${WORD_END}`, 'd'),
            lineBegin,
            kind: 'epoch',
          }
        : {
            name: 'Epoch',
            regexp: new RegExp(
              `(^${EPOCH}|(?<=^\\[)${EPOCH}(?=\\])|(?<=\\baudit\\()${EPOCH}(?=:\\d+\\)))${WORD_END}`,
              'd',
            ),
            lineBegin: false,
            kind: 'epoch',
          };
    case 'LEPOCH':
      return {
        name: 'LongEpoch',
        regexp: new RegExp(`${begin}(${LONG_EPOCH})${WORD_END}`, 'd'),
        lineBegin,
        kind: 'lepoch',
      };
    case 'TAI64N':
      return {
        name: 'TAI64N',
        regexp: new RegExp(
          `${lineBegin ? begin : String.raw`(?=^|\b|\W)`}(@[0-9a-f]{24})${WORD_END}`,
          'd',
        ),
        lineBegin,
        kind: 'tai64n',
      };
    default:
      return null;
  }
}

/** Builds one template from a datepattern line (`%` directives or a regex with named fields). */
export function buildTemplate(pattern: string): DateTemplate {
  let text = pattern.trim();
  const key = text.includes('%') ? text : text.toUpperCase();
  for (const prefix of ['', '{^LN-BEG}', '^']) {
    if (key.startsWith(prefix)) {
      const t = special(key.slice(prefix.length), prefix !== '');
      if (t !== null) return t;
    }
  }
  if (key === '{NONE}') return { name: '{NONE}', regexp: /^()/d, lineBegin: true, kind: 'none' };
  let wordBegin: boolean | 'start' = true;
  let wordEnd = true;
  if (text.startsWith('{UNB}')) {
    text = text.slice(5);
    wordBegin = wordEnd = false;
  }
  if (wordBegin && text.startsWith('{^LN-BEG}')) {
    text = text.slice(9);
    wordBegin = 'start';
  }
  let regex = expandDirectives(text);
  if (hasAlphaDirective(text)) regex = `(?iu)${regex}`;
  regex = regex.trim();
  const gf = GLOBAL_FLAGS.exec(regex);
  if (gf !== null) regex = regex.replace(gf[0], '');
  const boundBegin = wordBegin !== false && !NO_WORD_BOUND_BEGIN.test(regex);
  const boundEnd = wordEnd && !NO_WORD_BOUND_END.test(regex);
  if (!HAS_GROUP.test(regex)) {
    regex = regex.replace(/^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$/s, '$1($2)$3');
  }
  let lineBegin = false;
  if (boundBegin) {
    if (wordBegin === 'start') {
      regex = String.raw`^(?:\W{0,2})?` + regex;
      lineBegin = true;
    } else regex = String.raw`(?=^|\b|\W)` + regex;
  }
  if (boundEnd) regex += WORD_END;
  if (LINE_BOUND_BEGIN.test(regex)) lineBegin = true;
  regex = regex.replace(/^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$/g, (m) => m.replace('**', ''));
  if (gf !== null) regex = gf[0] + regex;
  const translated = translatePythonRegex(regex, { unicode: false });
  if (!translated.ok)
    throw new TypeError(`datepattern ${JSON.stringify(pattern)}: ${translated.reason}`);
  const v = translated.value;
  if (v.variants.length !== 1)
    throw new TypeError(`datepattern ${JSON.stringify(pattern)}: conditionals are not supported`);
  return {
    name: pattern,
    regexp: new RegExp(v.variants[0] ?? '', `${v.flags}d`),
    lineBegin,
    kind: 'pattern',
  };
}

/** The default templates with their line-begin variants first, as fail2ban orders them. */
function defaultTemplates(): DateTemplate[] {
  const anchored: DateTemplate[] = [];
  const plain: DateTemplate[] = [];
  for (const p of DEFAULT_PATTERNS) {
    const t = buildTemplate(p);
    if (!p.startsWith('{^LN-BEG}') && !p.startsWith('^'))
      anchored.push(buildTemplate(`{^LN-BEG}${p}`));
    plain.push(t);
  }
  return [...anchored, ...plain];
}

/** Removes fail2ban's own bound markers from a default pattern before it is wrapped by a {DATE} pre-match. */
function unbound(pattern: string): string {
  return pattern.replace(/^\{UNB\}/, '').replace(/^\{\^LN-BEG\}/, '');
}

/**
 * Templates for a filter's `datepattern` (one per line): `{^LN-BEG}` = the default templates
 * anchored at line start, `{DEFAULT}` = all defaults, `…{DATE}…` = each default inside the
 * given frame, `{NONE}` = no date, anything else = one pattern. Undefined = all defaults.
 * Throws TypeError naming a pattern that does not translate.
 */
export function datePatternTemplates(datepattern: string | undefined): DateTemplate[] {
  if (datepattern === undefined || datepattern.trim() === '') return defaultTemplates();
  const out: DateTemplate[] = [];
  const names = new Set<string>();
  const add = (t: DateTemplate): void => {
    if (names.has(t.name)) return;
    names.add(t.name);
    out.push(t);
  };
  for (const line of datepattern
    .split(/\n+/)
    .map((l) => l.trim())
    .filter((l) => l !== '')) {
    const key = line.includes('%') ? line : line.toUpperCase();
    if (key === '{^LN-BEG}')
      defaultTemplates()
        .filter((t) => t.lineBegin)
        .forEach(add);
    else if (key === '{DEFAULT}') defaultTemplates().forEach(add);
    else if (/(?<!\\)\{DATE\}/i.test(line)) {
      for (const p of DEFAULT_PATTERNS) {
        if (p === 'EPOCH' || p === 'TAI64N') continue;
        add(buildTemplate(line.replace(/(?<!\\)\{DATE\}/gi, () => unbound(p))));
      }
    } else add(buildTemplate(line));
  }
  return out;
}

/** Finds and reads dates in lines; keeps no state between lines (templates are tried fresh each time). */
export class DateDetector {
  readonly #templates: readonly DateTemplate[];
  readonly #zone: LocalZone;

  /** Throws TypeError for a datepattern that does not translate. */
  constructor(datepattern: string | undefined, zone: LocalZone) {
    this.#templates = datePatternTemplates(datepattern);
    this.#zone = zone;
  }

  /**
   * The date in `line`: a line-begin template that matches wins at once; otherwise the match
   * that starts earliest, earlier templates winning ties. `now` (epoch ms) anchors year-less dates.
   */
  find(line: string, now: number): DateMatch | null {
    let best: { m: RegExpExecArray; t: DateTemplate } | null = null;
    for (const t of this.#templates) {
      const m = t.regexp.exec(line);
      if (m === null) continue;
      if (t.lineBegin) {
        best = { m, t };
        break;
      }
      if (best === null || m.index < best.m.index) best = { m, t };
    }
    if (best === null) return null;
    const span = best.m.indices?.[1];
    if (span === undefined) return null;
    const text = best.m[1] ?? '';
    return {
      start: span[0],
      end: span[1],
      time: text === '' ? null : this.#read(best.t, best.m, text, now),
    };
  }

  #read(t: DateTemplate, m: RegExpExecArray, text: string, now: number): number | null {
    switch (t.kind) {
      case 'epoch':
        return Math.floor(Number(text)) * 1000;
      case 'lepoch': {
        let v = Number(text);
        if (text.length >= 13) v = text.length >= 16 && !text.includes('.') ? v / 1e6 : v / 1e3;
        return Math.floor(v) * 1000;
      }
      case 'tai64n':
        return parseInt(text.slice(2, 17), 16) * 1000;
      case 'none':
        return null;
      case 'pattern':
        return fieldsToEpoch(m.groups ?? {}, now, this.#zone) ?? null;
    }
  }
}
