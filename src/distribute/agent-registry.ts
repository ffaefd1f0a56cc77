// The registry of agents allowed to follow the ban feed: agents.json beside the store (see token-registry.ts).
import type { Clock } from '../core/clock.js';
import {
  AGENT_TOKENS,
  isValidTokenName,
  TokenRegistry,
  type TokenDirectory,
  type TokenRecord,
} from './token-registry.js';

/** What is persisted of an agent. */
export type AgentRecord = TokenRecord;

/** The agents allowed to follow the feed, as the agent API sees them: lookups from memory. */
export type AgentDirectory = TokenDirectory;

/** Agent names: what a hostname or a systemd instance name can be, and safe in a URL path. */
export const isValidAgentName = isValidTokenName;

export class AgentRegistry extends TokenRegistry {
  constructor(file: string, clock: Clock) {
    super(file, clock, AGENT_TOKENS);
  }
}
