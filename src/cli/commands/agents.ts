// `fleetban agents add|list|remove`: the agents allowed to follow the ban stream, and their tokens.
import type { AgentReport } from '../../distribute/agent-api.js';
import { isValidAgentName } from '../../distribute/agent-registry.js';
import { addAgent, listAgents, removeAgent } from '../../distribute/agents-client.js';
import { clientOptions, flagOption, toJson, usageError, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatRelative, formatTime, table } from '../format.js';

function checkedName(name: string | undefined): string {
  if (name === undefined) throw usageError('missing NAME');
  if (!isValidAgentName(name)) {
    throw usageError(
      `'${name}' is not a valid agent name: letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit`,
    );
  }
  return name;
}

export const agentsAddCommand: Command = {
  name: 'agents add',
  summary: 'register an agent and print its token (shown once)',
  usage: 'agents add NAME [--json]',
  description:
    "The token is printed once and stored only as a digest: put it in the agent's configuration now. To replace a lost token, remove the agent and add it again.",
  options: clientOptions,
  positionals: { names: ['NAME'], required: 1 },
  async run({ values, positionals, io, client }) {
    const name = checkedName(positionals[0]);
    const added = await addAgent(await client(), name);
    if (flagOption(values, 'json')) {
      io.stdout(toJson(added));
      return ExitCode.OK;
    }
    io.stdout(
      `agent ${added.agent.name} added; its token (shown only this once):\n${added.token}\n`,
    );
    return ExitCode.OK;
  },
};

export const agentsListCommand: Command = {
  name: 'agents list',
  summary: 'registered agents, their last contact and stream position',
  usage: 'agents list [--json]',
  options: clientOptions,
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const agents = await listAgents(await client());
    if (flagOption(values, 'json')) {
      io.stdout(toJson(agents));
      return ExitCode.OK;
    }
    if (agents.length === 0) {
      io.stdout('no agents (add one with: fleetban agents add NAME)\n');
      return ExitCode.OK;
    }
    const now = io.clock.now();
    const num = (n: number | null) => (n === null ? '-' : String(n));
    io.stdout(
      table(
        [
          'NAME',
          'CONNECTED',
          'PEER',
          'ACK-SEQ',
          'SENT-SEQ',
          'SET-SIZE',
          'LAST CONTACT',
          'CREATED',
          'LAST ERROR',
        ],
        agents.map((a) => [
          a.name,
          a.connected ? 'yes' : 'no',
          a.peer ?? '-',
          num(a.ackSeq),
          num(a.sentSeq),
          num(a.setSize),
          a.lastContact === null ? 'never' : formatRelative(a.lastContact, now),
          formatTime(a.created),
          lastError(a.lastError, now),
        ]),
      ),
    );
    return ExitCode.OK;
  },
};

/** Last in its row: a message may be long, and nothing after it needs lining up. */
function lastError(e: AgentReport['lastError'], now: number): string {
  if (e === null) return '-';
  return e.at === null ? e.message : `${formatRelative(e.at, now)}: ${e.message}`;
}

export const agentsRemoveCommand: Command = {
  name: 'agents remove',
  summary: "revoke an agent's token and close its stream",
  usage: 'agents remove NAME [--json]',
  options: clientOptions,
  positionals: { names: ['NAME'], required: 1 },
  async run({ values, positionals, io, client }) {
    const name = checkedName(positionals[0]);
    const removed = await removeAgent(await client(), name);
    if (flagOption(values, 'json')) {
      io.stdout(toJson({ removed }));
      return ExitCode.OK;
    }
    io.stdout(`agent ${removed} removed; its token no longer works\n`);
    return ExitCode.OK;
  },
};
