// A JSON file of named records beside the store (agents, dashboard users): read once, rewritten whole on each change.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describeError, ErrorCode, FleetbanError } from '../core/errors.js';

/**
 * `{ "version": 1, LIST: [records] }`. Each write replaces the file through a temp file and a
 * rename, so a crash leaves the old or the new list, never half of one; writes run in call
 * order. Mode 0600: digests are not tokens, but who holds one is nobody else's business.
 */
export class RecordFile<R> {
  readonly path: string;
  readonly #list: string;
  /** What the file is, for messages ("the agent registry"). */
  readonly #what: string;
  readonly #parse: (value: unknown) => R | null;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string, list: string, what: string, parse: (value: unknown) => R | null) {
    this.path = path;
    this.#list = list;
    this.#what = what;
    this.#parse = parse;
  }

  /** The records; a missing file is none, a broken one an error naming it. Unreadable records are skipped. */
  async read(): Promise<R[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new FleetbanError(
        ErrorCode.STORE_OPEN_FAILED,
        `cannot read ${this.#what} ${this.path}: ${describeError(e)}`,
        { cause: e },
      );
    }
    let list: unknown[];
    try {
      const parsed = JSON.parse(text) as Record<string, unknown> | null;
      const found = parsed?.[this.#list];
      if (!Array.isArray(found)) throw new Error(`no "${this.#list}" list`);
      list = found;
    } catch (e) {
      throw new FleetbanError(
        ErrorCode.STORE_OPEN_FAILED,
        `${this.#what} ${this.path} is not valid: ${describeError(e)}`,
        { cause: e },
      );
    }
    return list.map((v) => this.#parse(v)).filter((r): r is R => r !== null);
  }

  /** Replaces the file with these records; resolves once written. */
  save(records: readonly R[]): Promise<void> {
    const write = async (): Promise<void> => {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      const body = { version: 1, [this.#list]: records };
      await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    };
    const next = this.#writing.then(write, write);
    this.#writing = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every write issued so far is on disk. */
  flush(): Promise<void> {
    return this.#writing;
  }
}
