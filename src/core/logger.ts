// The logging surface every component receives: a pino logger satisfies it, tests pass a recorder.

export interface LogFn {
  (obj: object, msg: string): void;
  (msg: string): void;
}

export interface Logger {
  readonly error: LogFn;
  readonly warn: LogFn;
  readonly info: LogFn;
  readonly debug: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything: for tools and tests that do not look at logs. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLogger,
};
