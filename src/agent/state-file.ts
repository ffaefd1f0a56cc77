// Keeps the agent's last sequence number and bans on disk, so a restarted agent resumes instead of resyncing.
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { BanEntry } from '../distribute/protocol.js';

export interface AgentState {
  readonly seq: number;
  readonly bans: readonly BanEntry[];
}

/** Reads the state; null when absent or unreadable (then the agent asks for a snapshot). */
export async function readAgentState(file: string): Promise<AgentState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const value = JSON.parse(text) as { seq?: unknown; bans?: unknown };
    if (
      typeof value.seq !== 'number' ||
      !Number.isSafeInteger(value.seq) ||
      !Array.isArray(value.bans)
    ) {
      return null;
    }
    const bans = (value.bans as unknown[]).filter(isBanEntry);
    return { seq: value.seq, bans };
  } catch {
    return null;
  }
}

/** Writes atomically (temp file, then rename), so a crash leaves the old state or the new one. */
export async function writeAgentState(file: string, state: AgentState): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
  await rename(tmp, file);
}

function isBanEntry(v: unknown): v is BanEntry {
  if (typeof v !== 'object' || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b.target === 'string' &&
    (b.family === 4 || b.family === 6) &&
    (b.end === null || typeof b.end === 'number') &&
    typeof b.jail === 'string'
  );
}
