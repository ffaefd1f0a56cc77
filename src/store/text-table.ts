// Numbers for the texts that repeat across bans (jail, origin, reason), counted so unused ones go.

/**
 * A ban keeps the number of its jail name, say, instead of the string; `use` hands out the number
 * of a text (adding it when new) and counts one more user, `release` counts one less, and a text
 * nobody uses is forgotten so that its number can be given to the next new text.
 */
export class TextTable {
  #texts: (string | undefined)[] = [];
  #users: number[] = [];
  readonly #numbers = new Map<string, number>();
  readonly #free: number[] = [];

  /**
   * A table holding `texts` under their positions, each with as many users as the rows marked in
   * `used` that name it in one of `columns`; the texts nobody uses are free numbers.
   */
  static of(
    texts: readonly string[],
    columns: readonly Uint32Array[],
    used: Uint8Array,
  ): TextTable {
    const table = new TextTable();
    table.#texts = [...texts];
    table.#users = new Array<number>(texts.length).fill(0);
    for (const column of columns)
      for (let i = 0; i < used.length; i++) {
        if (used[i] !== 1) continue;
        const id = column[i] ?? 0;
        table.#users[id] = (table.#users[id] ?? 0) + 1;
      }
    texts.forEach((text, id) => {
      if ((table.#users[id] ?? 0) > 0) table.#numbers.set(text, id);
      else {
        table.#texts[id] = undefined;
        table.#free.push(id);
      }
    });
    return table;
  }

  /** Every text by its number ('' for free numbers), for a snapshot. */
  texts(): string[] {
    return this.#texts.map((t) => t ?? '');
  }

  text(id: number): string {
    return this.#texts[id] ?? '';
  }

  use(text: string): number {
    let id = this.#numbers.get(text);
    if (id === undefined) {
      id = this.#free.pop() ?? this.#texts.length;
      this.#texts[id] = text;
      this.#users[id] = 0;
      this.#numbers.set(text, id);
    }
    this.#users[id] = (this.#users[id] ?? 0) + 1;
    return id;
  }

  release(id: number): void {
    const users = (this.#users[id] ?? 0) - 1;
    this.#users[id] = users;
    if (users > 0) return;
    const text = this.#texts[id];
    if (text !== undefined) this.#numbers.delete(text);
    this.#texts[id] = undefined;
    this.#free.push(id);
  }
}
