// The agent directory shared by the servers of a Redis deployment: the hash `{keyPrefix}:agents` (see redis-token-registry.ts).
import { AGENT_TOKENS } from './token-registry.js';
import { RedisTokenRegistry, type RedisTokenRegistryOptions } from './redis-token-registry.js';

export type RedisAgentRegistryOptions = RedisTokenRegistryOptions;

/** An agent removed on another server keeps its stream here until the next refresh, then `onRemoved` closes it. */
export class RedisAgentRegistry extends RedisTokenRegistry {
  constructor(options: RedisAgentRegistryOptions) {
    super(options, AGENT_TOKENS);
  }
}
