// Reads one fail2ban .conf/.local file with Python configparser's rules: sections, continuation lines, comments.

/** Options of one section in file order; names lowercased as configparser's optionxform does. */
export type IniSection = Map<string, string>;

export interface IniFile {
  /** `[DEFAULT]` options. */
  readonly defaults: IniSection;
  /** Sections in file order (a repeated header adds to the same section). */
  readonly sections: Map<string, IniSection>;
}

const HEADER = /^\[(.+)\]$/;
const OPTION = /^(.*?)\s*[=:]\s*(.*)$/;

/**
 * Parses INI text. Full-line comments start with `#` or `;`; an inline comment is `;` after
 * whitespace. A line indented deeper than its option continues the value; empty lines inside a
 * value are kept and trailing ones dropped, as Python's configparser does. Lines that are none
 * of these are skipped (fail2ban would refuse the file; here a stray line costs only itself).
 */
export function parseIni(text: string): IniFile {
  const defaults: IniSection = new Map();
  const sections = new Map<string, IniSection>();
  let current: IniSection | null = null;
  let option: string | null = null;
  let lines: string[] = [];
  let indent = 0;

  const flush = (): void => {
    if (current !== null && option !== null) {
      current.set(option, lines.join('\n').replace(/\s+$/, ''));
    }
    option = null;
    lines = [];
  };

  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    const isComment = trimmed.startsWith('#') || trimmed.startsWith(';');
    const value = isComment ? '' : stripInlineComment(raw).trim();
    if (value === '') {
      if (!isComment && option !== null) lines.push('');
      continue;
    }
    const lineIndent = raw.length - raw.trimStart().length;
    if (option !== null && lineIndent > indent) {
      lines.push(value);
      continue;
    }
    flush();
    const header = HEADER.exec(value);
    if (header !== null && lineIndent === 0) {
      const name = header[1] ?? '';
      if (name === 'DEFAULT') current = defaults;
      else {
        current = sections.get(name) ?? new Map<string, string>();
        sections.set(name, current);
      }
      continue;
    }
    const m = OPTION.exec(value);
    if (m === null || current === null) continue;
    option = (m[1] ?? '').trim().toLowerCase();
    lines = [m[2] ?? ''];
    indent = lineIndent;
  }
  flush();
  return { defaults, sections };
}

function stripInlineComment(line: string): string {
  const m = /\s;/.exec(line);
  return m === null ? line : line.slice(0, m.index);
}
