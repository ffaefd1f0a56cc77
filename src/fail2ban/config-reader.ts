// fail2ban's configuration reader: file override order, [INCLUDES], %(var)s interpolation, known/ values and <tag> substitution.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';
import { parseIni, type IniSection } from './ini.js';

/** Python's configparser gives up after this many nested %(var)s. */
const MAX_INTERPOLATION_DEPTH = 10;
/** fail2ban's MAX_TAG_REPLACE_COUNT: how often one tag may be replaced inside one value. */
const MAX_TAG_REPLACE = 25;

/**
 * The merged options of a config file family (`NAME.conf`, `NAME.d/*.conf`, `NAME.local`,
 * `NAME.d/*.local`, each preceded and followed by its `[INCLUDES]` before/after files).
 * Values are raw until read with get(), which interpolates.
 */
export class Fail2banConfig {
  readonly files: readonly string[];
  readonly defaults: IniSection = new Map();
  readonly sections = new Map<string, IniSection>();

  private constructor(files: readonly string[]) {
    this.files = files;
  }

  /**
   * Reads `basedir/name` the way fail2ban does. Throws CONFIG_NOT_FOUND when none of the
   * files exists, CONFIG_INVALID when one cannot be read.
   */
  static read(basedir: string, name: string): Fail2banConfig {
    const base = join(basedir, name);
    const candidates = [
      `${base}.conf`,
      ...listDir(`${base}.d`, '.conf'),
      `${base}.local`,
      ...listDir(`${base}.d`, '.local'),
    ].filter((f) => existsSync(f));
    if (candidates.length === 0) {
      throw new FleetbanError(
        ErrorCode.CONFIG_NOT_FOUND,
        `fail2ban: no ${base}.conf or ${base}.local`,
      );
    }
    const files: string[] = [];
    for (const f of candidates) for (const g of withIncludes([f], [])) files.push(g);
    const config = new Fail2banConfig(files);
    for (const f of files) config.#merge(f);
    return config;
  }

  /** A config built from text, for tests and for jail files handed in memory. */
  static fromText(text: string, file = '(text)'): Fail2banConfig {
    const config = new Fail2banConfig([file]);
    config.#mergeParsed(parseIni(text));
    return config;
  }

  #merge(file: string): void {
    this.#mergeParsed(parseIni(readText(file)));
  }

  #mergeParsed(ini: ReturnType<typeof parseIni>): void {
    for (const [k, v] of ini.defaults) this.defaults.set(k, v);
    for (const [name, options] of ini.sections) {
      const existing = this.sections.get(name);
      if (existing === undefined) {
        this.sections.set(name, new Map(options));
        continue;
      }
      // The value a later file overrides stays reachable as %(known/option)s.
      const known = this.sections.get(`KNOWN/${name}`) ?? new Map<string, string>();
      for (const [k, v] of existing) if (options.has(k)) known.set(k, v);
      this.sections.set(`KNOWN/${name}`, known);
      for (const [k, v] of options) existing.set(k, v);
    }
  }

  hasSection(section: string): boolean {
    return this.sections.has(section);
  }

  /** Option names of a section, without [DEFAULT]'s unless asked. */
  options(section: string, withDefaults = false): string[] {
    const own = [...(this.sections.get(section)?.keys() ?? [])];
    return withDefaults ? [...new Set([...own, ...this.defaults.keys()])] : own;
  }

  /** The raw (uninterpolated) value: vars, then the section, then [DEFAULT]. */
  raw(
    section: string,
    option: string,
    vars: ReadonlyMap<string, string> = new Map(),
  ): string | undefined {
    const key = option.toLowerCase();
    return vars.get(key) ?? this.sections.get(section)?.get(key) ?? this.defaults.get(key);
  }

  /**
   * An interpolated value, or undefined when the option is not set. `option` may be written
   * `section/option` (fail2ban's get_ex). Throws CONFIG_INVALID on a missing %(var)s.
   */
  get(
    section: string,
    option: string,
    vars: ReadonlyMap<string, string> = new Map(),
  ): string | undefined {
    const slash = /^([\w-]+)\/([^\s>]+)$/.exec(option);
    if (slash !== null) {
      const sec = slash[1] ?? '';
      const opt = slash[2] ?? '';
      const lower = sec.toLowerCase();
      const tries =
        lower === 'known' ? [`KNOWN/${section}`, section] : [lower === 'default' ? '' : sec];
      for (const s of tries) {
        const v =
          s === ''
            ? this.defaults.get(opt.toLowerCase())
            : this.sections.get(s)?.get(opt.toLowerCase());
        if (v !== undefined) return this.interpolate(s === '' ? section : s, v, vars, 1);
      }
    }
    const value = this.raw(section, option, vars);
    return value === undefined ? undefined : this.interpolate(section, value, vars, 1);
  }

  /** Expands %(name)s, %(section/name)s, %(known/name)s and %% in `value`. */
  interpolate(
    section: string,
    value: string,
    vars: ReadonlyMap<string, string>,
    depth: number,
  ): string {
    if (!value.includes('%')) return value;
    if (depth > MAX_INTERPOLATION_DEPTH) {
      throw new FleetbanError(
        ErrorCode.CONFIG_INVALID,
        `fail2ban [${section}]: interpolation too deep in ${JSON.stringify(value)}`,
      );
    }
    let out = '';
    let i = 0;
    while (i < value.length) {
      const p = value.indexOf('%', i);
      if (p < 0) {
        out += value.slice(i);
        break;
      }
      out += value.slice(i, p);
      if (value[p + 1] === '%') {
        out += '%';
        i = p + 2;
        continue;
      }
      const m = /^%\(([^)]+)\)s/.exec(value.slice(p));
      if (m === null) {
        throw new FleetbanError(
          ErrorCode.CONFIG_INVALID,
          `fail2ban [${section}]: '%' must be followed by '%' or '(' in ${JSON.stringify(value)}`,
        );
      }
      const name = m[1] ?? '';
      const found = this.#lookup(section, name, vars);
      if (found === undefined) {
        throw new FleetbanError(
          ErrorCode.CONFIG_INVALID,
          `fail2ban [${section}]: %(${name})s is not defined`,
        );
      }
      out += this.interpolate(found.section, found.value, vars, depth + 1);
      i = p + m[0].length;
    }
    return out;
  }

  #lookup(
    section: string,
    name: string,
    vars: ReadonlyMap<string, string>,
  ): { section: string; value: string } | undefined {
    const slash = /^([\w-]+)\/([^)]+)$/.exec(name);
    if (slash === null) {
      const v = this.raw(section, name, vars);
      return v === undefined ? undefined : { section, value: v };
    }
    const sec = slash[1] ?? '';
    const opt = (slash[2] ?? '').toLowerCase();
    const lower = sec.toLowerCase();
    let v: string | undefined;
    if (lower === 'known') v = this.sections.get(`KNOWN/${section}`)?.get(opt);
    else if (lower !== 'default') v = this.sections.get(sec)?.get(opt);
    v ??= this.defaults.get(opt);
    return v === undefined ? undefined : { section, value: v };
  }
}

/**
 * fail2ban's substituteRecursiveTags: replaces `<tag>` in every value with the value of that
 * name (from `tags`, else from `extra`), innermost first, until nothing changes. Names in
 * `ignore` and unknown tags (such as `<HOST>`) stay as they are. Throws CONFIG_INVALID on a
 * self-referencing definition.
 */
export function substituteTags(
  input: ReadonlyMap<string, string>,
  extra: (name: string) => string | undefined = () => undefined,
  ignore: ReadonlySet<string> = new Set(),
): Map<string, string> {
  const tags = new Map(input);
  const done = new Set<string>();
  const counts = new Map<string, Map<string, number>>();
  const TAG = /<([^ <>]+)>/g;
  for (;;) {
    let again = false;
    for (const [tag, original] of tags) {
      if (ignore.has(tag) || done.has(tag)) continue;
      let value = original;
      const replaced = counts.get(tag) ?? new Map<string, number>();
      TAG.lastIndex = 0;
      let m = TAG.exec(value);
      while (m !== null) {
        const name = m[1] ?? '';
        if (ignore.has(name)) {
          m = TAG.exec(value);
          continue;
        }
        if (name === tag || (replaced.get(name) ?? 1) > MAX_TAG_REPLACE) {
          throw new FleetbanError(
            ErrorCode.CONFIG_INVALID,
            `fail2ban: "${tag}" refers to itself through <${name}>`,
          );
        }
        const repl = tags.get(name) ?? extra(name);
        if (repl === undefined) {
          m = TAG.exec(value);
          continue;
        }
        value = value.split(`<${name}>`).join(repl);
        replaced.set(name, (replaced.get(name) ?? 0) + 1);
        TAG.lastIndex = m.index;
        m = TAG.exec(value);
      }
      if (value !== original) {
        TAG.lastIndex = 0;
        if (TAG.test(value)) {
          counts.set(tag, replaced);
          again = true;
        }
        tags.set(tag, value);
      }
      if (!value.includes('<')) done.add(tag);
    }
    if (!again) return tags;
  }
}

/**
 * `name[opt=value, opt2="quoted, value"]` as jails write filters and actions. Returns null for
 * text that is not of that form.
 */
export function splitNameOptions(
  text: string,
): { name: string; options: Map<string, string> } | null {
  const m = /^\s*([^[\s]+)\s*(?:\[(.*)\])?\s*$/s.exec(text);
  if (m === null) return null;
  const options = new Map<string, string>();
  const body = m[2] ?? '';
  const OPT = /\s*([\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^,\]]*))\s*(?:,|$)/gy;
  let pos = 0;
  while (pos < body.length) {
    OPT.lastIndex = pos;
    const o = OPT.exec(body);
    if (o === null || o[0] === '') return null;
    options.set(o[1] ?? '', (o[2] ?? o[3] ?? o[4] ?? '').trim());
    pos = OPT.lastIndex;
  }
  return { name: m[1] ?? '', options };
}

function listDir(dir: string, ext: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith(ext))
      .sort()
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.CONFIG_INVALID,
      `fail2ban: cannot read ${file}: ${describeError(e)}`,
      { cause: e },
    );
  }
}

/** A file with its `[INCLUDES]` before/after files (and each one's .local), in read order. */
function withIncludes(files: readonly string[], seen: readonly string[]): string[] {
  const out: string[] = [];
  const expanded: string[] = [];
  for (const f of files) {
    expanded.push(f);
    const local = f.replace(/\.[^./]*$/, '') + '.local';
    if (!files.includes(local) && local !== f && existsSync(local)) expanded.push(local);
  }
  for (const file of expanded) {
    if (!existsSync(file)) continue;
    const ini = parseIni(readText(file));
    const includes = ini.sections.get('INCLUDES');
    const part = (key: string): string[] => {
      const v = includes?.get(key);
      if (v === undefined) return [];
      const found: string[] = [];
      for (const item of v.split('\n')) {
        if (item.trim() === '') continue;
        const r = isAbsolute(item) ? item : join(dirname(file), item);
        if (seen.includes(r)) continue;
        found.push(...withIncludes([r], [...seen, file]));
      }
      return found;
    };
    out.push(...part('before'), file, ...part('after'));
  }
  return out;
}
