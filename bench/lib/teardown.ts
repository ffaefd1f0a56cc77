// Undo steps for a benchmark (stop children, delete namespaces): run in reverse at the end, on failure and on Ctrl-C.
export class Teardown {
  readonly #steps: { readonly what: string; readonly undo: () => Promise<void> }[] = [];
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: cleaning up`);
    void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  /** Catches SIGINT and SIGTERM until `run()`: namespaces must not outlive an interrupted run. */
  constructor() {
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  add(what: string, undo: () => Promise<void>): void {
    this.#steps.push({ what, undo });
  }

  /** Runs every step, newest first; a failing step is reported and the rest still run. */
  async run(): Promise<void> {
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (e) {
        console.error(
          `cleanup: ${step.what} failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
  }
}
