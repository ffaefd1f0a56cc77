// Which programs a jail listens to: exact names, or `*` patterns (`postfix*/smtpd`, `wordpress*`), any case.

/**
 * Program names as syslog TAGs carry them. A `*` matches any run of characters, so one entry
 * covers a second postfix instance (`postfix-out/smtpd`) or a tag with a suffix
 * (`wordpress(blog.example.org)`); everything else is compared exactly, ignoring case.
 */
export class ProgramSet {
  readonly #exact = new Set<string>();
  readonly #patterns: RegExp[] = [];
  /** Per entry, its longest literal run: a raw line without any of them cannot be from these programs. */
  readonly #hints: string[] = [];

  constructor(programs: readonly string[]) {
    for (const p of programs) {
      if (p.includes('*')) {
        const source = p
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
          .join('.*');
        this.#patterns.push(new RegExp(`^${source}$`, 'i'));
      } else {
        this.#exact.add(p.toLowerCase());
      }
      const literal = p.split('*').reduce((a, b) => (b.length > a.length ? b : a), '');
      this.#hints.push(literal);
    }
  }

  /** No entries: the jail sees every program. */
  get isEmpty(): boolean {
    return this.#hints.length === 0;
  }

  has(program: string): boolean {
    const name = program.toLowerCase();
    return this.#exact.has(name) || this.#patterns.some((re) => re.test(name));
  }

  /** A cheap check on a raw line before parsing it: false means none of the programs can be in it. */
  mayAppearIn(line: string): boolean {
    return this.#hints.some((hint) => line.includes(hint));
  }
}
