// Every short string over an alphabet: for tests that compare two patterns exhaustively.

/** Every string over `alphabet` up to `max` characters long, shortest first. */
export function* allStrings(alphabet: string, max: number): Generator<string> {
  let level = [''];
  yield '';
  for (let n = 1; n <= max; n++) {
    const next: string[] = [];
    for (const s of level) for (const c of alphabet) next.push(s + c);
    yield* next;
    level = next;
  }
}
