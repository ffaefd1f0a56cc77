// Temporary folders for one benchmark run, removed afterwards even when the run fails.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function withTempDir<T>(
  prefix: string,
  body: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `fleetban-bench-${prefix}-`));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `body` in `keep` when given (created if missing, kept afterwards, so a filled store is
 * reused by later runs), else in a temporary folder removed afterwards.
 */
export async function withKeptDir<T>(
  keep: string | undefined,
  prefix: string,
  body: (dir: string) => Promise<T>,
): Promise<T> {
  if (keep === undefined) return withTempDir(prefix, body);
  await mkdir(keep, { recursive: true });
  return body(keep);
}

/** The message of anything thrown, for "not measured" rows. */
export function reason(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/** A run's result, or why it failed: one failed run does not end the benchmark. */
export type Outcome<T> = { readonly ok: T } | { readonly error: string };

export async function attempt<T>(body: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await body() };
  } catch (e) {
    return { error: reason(e) };
  }
}
