// `fleetban feeds add|list|remove`: read-only tokens for the gateway feeds (/v1/blocklist.txt, /v1/nftables).
import { addFeed, listFeeds, removeFeed } from '../../distribute/feeds-client.js';
import { isValidTokenName } from '../../distribute/token-registry.js';
import { clientOptions, flagOption, toJson, usageError, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatRelative, formatTime, table } from '../format.js';

function checkedName(name: string | undefined): string {
  if (name === undefined) throw usageError('missing NAME');
  if (!isValidTokenName(name)) {
    throw usageError(
      `'${name}' is not a valid feed name: letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit`,
    );
  }
  return name;
}

export const feedsAddCommand: Command = {
  name: 'feeds add',
  summary: 'create a read-only token for the gateway feeds and print it (shown once)',
  usage: 'feeds add NAME [--json]',
  description:
    "The token reads GET /v1/blocklist.txt and GET /v1/nftables on the agent API and nothing else: not the agent stream, not the admin API. Name it after the gateway that polls with it. The token is printed once and stored only as a digest: put it in the gateway's configuration now. To replace a lost token, remove the feed and add it again.",
  options: clientOptions,
  positionals: { names: ['NAME'], required: 1 },
  async run({ values, positionals, io, client }) {
    const name = checkedName(positionals[0]);
    const added = await addFeed(await client(), name);
    if (flagOption(values, 'json')) {
      io.stdout(toJson(added));
      return ExitCode.OK;
    }
    io.stdout(
      `feed ${added.feed.name} added; its read-only token (shown only this once):\n${added.token}\n`,
    );
    return ExitCode.OK;
  },
};

export const feedsListCommand: Command = {
  name: 'feeds list',
  summary: 'read-only feed tokens and when each was last used',
  usage: 'feeds list [--json]',
  options: clientOptions,
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const feeds = await listFeeds(await client());
    if (flagOption(values, 'json')) {
      io.stdout(toJson(feeds));
      return ExitCode.OK;
    }
    if (feeds.length === 0) {
      io.stdout('no feed tokens (add one with: fleetban feeds add NAME)\n');
      return ExitCode.OK;
    }
    const now = io.clock.now();
    io.stdout(
      table(
        ['NAME', 'LAST USED', 'CREATED'],
        feeds.map((f) => [
          f.name,
          f.lastContact === null ? 'never' : formatRelative(f.lastContact, now),
          formatTime(f.created),
        ]),
      ),
    );
    return ExitCode.OK;
  },
};

export const feedsRemoveCommand: Command = {
  name: 'feeds remove',
  summary: 'revoke a feed token',
  usage: 'feeds remove NAME [--json]',
  options: clientOptions,
  positionals: { names: ['NAME'], required: 1 },
  async run({ values, positionals, io, client }) {
    const name = checkedName(positionals[0]);
    const removed = await removeFeed(await client(), name);
    if (flagOption(values, 'json')) {
      io.stdout(toJson({ removed }));
      return ExitCode.OK;
    }
    io.stdout(`feed ${removed} removed; its token no longer works\n`);
    return ExitCode.OK;
  },
};
