// `fleetban users add|list|remove`: who may sign in to the web dashboard, with which role.
import { addUser, listUsers, removeUser } from '../../dashboard/users-client.js';
import { isRole, isValidUserName, ROLES } from '../../dashboard/users.js';
import {
  clientOptions,
  flagOption,
  stringOption,
  toJson,
  usageError,
  type Command,
} from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatTime, table } from '../format.js';

function checkedName(name: string | undefined): string {
  if (name === undefined) throw usageError('missing NAME');
  if (!isValidUserName(name)) {
    throw usageError(
      `'${name}' is not a valid user name: letters, digits, '.', '_', '@' and '-', at most 63, starting with a letter or digit`,
    );
  }
  return name;
}

export const usersAddCommand: Command = {
  name: 'users add',
  summary: 'create a dashboard user and print its sign-in token (shown once)',
  usage: 'users add NAME --role viewer|admin [--json]',
  description:
    'A viewer reads every dashboard page; an admin also bans and unbans. The token is printed once and stored only as a digest: hand it to the user now. To replace a lost token, remove the user and add it again.',
  options: {
    role: { type: 'string', value: 'ROLE', help: 'viewer (reads) or admin (also bans and unbans)' },
    ...clientOptions,
  },
  positionals: { names: ['NAME'], required: 1 },
  async run({ values, positionals, io, client }) {
    const name = checkedName(positionals[0]);
    const role = stringOption(values, 'role');
    if (role === undefined) throw usageError(`missing --role (${ROLES.join(' or ')})`);
    if (!isRole(role)) throw usageError(`--role must be ${ROLES.join(' or ')}, not '${role}'`);
    const added = await addUser(await client(), name, role);
    if (flagOption(values, 'json')) {
      io.stdout(toJson(added));
      return ExitCode.OK;
    }
    io.stdout(
      `user ${added.user.name} (${added.user.role}) added; its dashboard token (shown only this once):\n${added.token}\n`,
    );
    return ExitCode.OK;
  },
};

export const usersListCommand: Command = {
  name: 'users list',
  summary: 'dashboard users and their roles',
  usage: 'users list [--json]',
  options: clientOptions,
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const users = await listUsers(await client());
    if (flagOption(values, 'json')) {
      io.stdout(toJson(users));
      return ExitCode.OK;
    }
    if (users.length === 0) {
      io.stdout('no users (add one with: fleetban users add NAME --role admin)\n');
      return ExitCode.OK;
    }
    io.stdout(
      table(
        ['NAME', 'ROLE', 'CREATED'],
        users.map((u) => [u.name, u.role, formatTime(u.created)]),
      ),
    );
    return ExitCode.OK;
  },
};

export const usersRemoveCommand: Command = {
  name: 'users remove',
  summary: "revoke a dashboard user's token and end its sessions",
  usage: 'users remove NAME [--json]',
  options: clientOptions,
  positionals: { names: ['NAME'], required: 1 },
  async run({ values, positionals, io, client }) {
    const name = checkedName(positionals[0]);
    const removed = await removeUser(await client(), name);
    if (flagOption(values, 'json')) {
      io.stdout(toJson({ removed }));
      return ExitCode.OK;
    }
    io.stdout(`user ${removed} removed; its token no longer works and its sessions are ended\n`);
    return ExitCode.OK;
  },
};
