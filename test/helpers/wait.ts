// Waiting in tests without fixed sleeps: poll a condition until it holds or a deadline passes, naming what was awaited.

export interface WaitOptions {
  /** What is awaited, for the failure message ("the ban of 198.51.100.7 in `fleetban bans`"). */
  readonly what: string;
  /** Give up after this long. */
  readonly timeoutMs?: number;
  /** Pause between two checks. */
  readonly intervalMs?: number;
}

/**
 * Resolves with the first truthy value `predicate` returns. A predicate that throws counts as
 * "not yet" (a server still starting refuses connections), and its last error is quoted when
 * the deadline passes, so a failing test says what it waited for and what it last saw.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitOptions,
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value !== undefined && value !== null && value !== false) return value;
      lastValue = value;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const seen =
        lastError !== undefined
          ? `last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`
          : `last value: ${JSON.stringify(lastValue)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what} (${seen})`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Rejects with a message naming `what` when `promise` has not settled within `timeoutMs`. */
export function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => {
    clearTimeout(timer);
  });
}
