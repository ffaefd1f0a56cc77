// The command table `fleetban` dispatches over; the server-side commands are added here too.
import type { Command } from '../command.js';
import { agentCommand } from './agent.js';
import { agentsAddCommand, agentsListCommand, agentsRemoveCommand } from './agents.js';
import { banCommand } from './ban.js';
import { bansCommand } from './bans.js';
import { clusterStatusCommand } from './cluster.js';
import { feedsAddCommand, feedsListCommand, feedsRemoveCommand } from './feeds.js';
import { discardCommand, heldCommand, releaseCommand } from './held.js';
import { reloadCommand } from './reload.js';
import { sendersCommand } from './senders.js';
import { serverCommand } from './server.js';
import { statusCommand } from './status.js';
import { storeMigrateCommand } from './store-migrate.js';
import { testFilterCommand } from './test-filter.js';
import { configCheckCommand } from './config-check.js';
import { importFail2banCommand } from './import-fail2ban.js';
import { mailTestCommand } from './mail-test.js';
import { unbanCommand } from './unban.js';
import { usersAddCommand, usersListCommand, usersRemoveCommand } from './users.js';

export const defaultCommands: readonly Command[] = [
  serverCommand,
  statusCommand,
  bansCommand,
  banCommand,
  unbanCommand,
  heldCommand,
  releaseCommand,
  discardCommand,
  reloadCommand,
  sendersCommand,
  agentsAddCommand,
  agentsListCommand,
  agentsRemoveCommand,
  feedsAddCommand,
  feedsListCommand,
  feedsRemoveCommand,
  usersAddCommand,
  usersListCommand,
  usersRemoveCommand,
  clusterStatusCommand,
  storeMigrateCommand,
  configCheckCommand,
  testFilterCommand,
  importFail2banCommand,
  mailTestCommand,
  agentCommand,
];
