// The man pages: lint-clean under mandoc, fleetban.conf(5) current with the schema, every command, option and example real.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultCommands } from '../../src/cli/commands/index.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import { schema } from '../../src/config/schema.js';
import { agentSchema, loadAgentConfig } from '../../src/agent/config.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = ['fleetban.8', 'fleetban-agent.8', 'fleetban.conf.5', 'fleetban-jail.5'];

function page(name: string): string {
  return readFileSync(join(REPO, 'man', name), 'utf8');
}

/** roff source to the words a reader sees: `\-` is a hyphen, `\e` a backslash. */
function plain(roff: string): string {
  return roff.replace(/\\-/g, '-').replace(/\\e/g, '\\').replace(/\\&/g, '');
}

/** Text of one section (from `.SH NAME` to the next `.SH`). */
function section(roff: string, name: string): string {
  const start = roff.indexOf(`\n.SH ${name}\n`);
  assert.notEqual(start, -1, `section ${name} exists`);
  const end = roff.indexOf('\n.SH ', start + 1);
  return roff.slice(start, end === -1 ? undefined : end);
}

/** The blocks between .EX and .EE. */
function examples(roff: string): string[] {
  return [...roff.matchAll(/^\.EX\n([\s\S]*?)^\.EE$/gm)].map((m) => plain(m[1] ?? ''));
}

interface SchemaLeaf {
  readonly key: string;
  readonly env?: string;
  readonly doc: string;
}

function leaves(node: object, prefix = ''): SchemaLeaf[] {
  const out: SchemaLeaf[] = [];
  for (const [name, value] of Object.entries(node)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (typeof value === 'object' && value !== null && 'doc' in value && 'default' in value) {
      const leaf = value as { doc: string; env?: string };
      out.push(
        leaf.env === undefined ? { key, doc: leaf.doc } : { key, doc: leaf.doc, env: leaf.env },
      );
    } else if (typeof value === 'object' && value !== null) {
      out.push(...leaves(value as object, key));
    }
  }
  return out;
}

describe('man pages', () => {
  for (const name of PAGES) {
    it(`${name} is clean under mandoc -T lint (style messages included)`, () => {
      const r = spawnSync('mandoc', ['-T', 'lint', '-W', 'style', join(REPO, 'man', name)], {
        encoding: 'utf8',
      });
      assert.equal(r.error, undefined, 'mandoc runs (apt-get install mandoc, or run .ci/run)');
      assert.equal(`${r.stdout}${r.stderr}`, '');
      assert.equal(r.status, 0);
    });
  }

  it('fleetban.conf(5) is what packaging/gen-conf-man.mjs makes of the schema', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'packaging/gen-conf-man.mjs'), '--check'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  });

  it('fleetban.conf(5) documents every schema key with its environment variable', () => {
    const text = section(page('fleetban.conf.5'), 'KEYS');
    const keys = leaves(schema);
    assert.ok(keys.length > 30, 'the schema walk finds the keys');
    for (const { key, env } of keys) {
      const at = text.indexOf(`\n.B ${key}\n`);
      assert.notEqual(at, -1, `${key} has an entry`);
      const entry = text.slice(at, text.indexOf('\n.TP', at + 1));
      assert.match(entry, /^Default: /m, `${key} shows its default`);
      if (env !== undefined) assert.ok(entry.includes(`\\fB${env}\\fR`), `${key} names ${env}`);
    }
  });

  it('fleetban-agent(8) documents every agent configuration key with its environment variable', () => {
    const text = section(page('fleetban-agent.8'), 'CONFIGURATION');
    const keys = leaves(agentSchema);
    assert.ok(keys.length > 10, 'the schema walk finds the keys');
    for (const { key, env } of keys) {
      const at = text.indexOf(`\n.B ${key}\n`);
      assert.notEqual(at, -1, `${key} has an entry`);
      const next = text.indexOf('\n.TP', at + 1);
      const entry = text.slice(at, next === -1 ? undefined : next);
      assert.match(entry, /^Default: /m, `${key} shows its default`);
      if (env !== undefined) assert.ok(entry.includes(`\\fB${env}\\fR`), `${key} names ${env}`);
    }
  });

  it('the agent configuration examples shipped in packaging/examples load', () => {
    for (const name of ['agent-host.json', 'agent-gateway.json']) {
      const config = loadAgentConfig({ file: join(REPO, 'packaging/examples', name), env: {} });
      assert.equal(config.mode, name === 'agent-host.json' ? 'host' : 'gateway');
    }
  });

  it('fleetban(8) describes every command, each of its options, and every exit code', () => {
    const text = plain(page('fleetban.8'));
    const commands = section(text, 'COMMANDS');
    const synopsis = section(text, 'SYNOPSIS');
    for (const command of defaultCommands) {
      const words = command.name.split(' ');
      const first = words[0] ?? '';
      assert.match(
        commands,
        new RegExp(`^\\.B[IR]? "?${first}\\b`, 'm'),
        `${command.name} in COMMANDS`,
      );
      for (const w of words) assert.ok(synopsis.includes(w), `${command.name} in SYNOPSIS`);
      for (const option of Object.keys(command.options)) {
        assert.ok(text.includes(`--${option}`), `--${option} of ${command.name} is described`);
      }
    }
    const exit = section(text, 'EXIT STATUS');
    for (const code of Object.values(ExitCode)) {
      assert.match(exit, new RegExp(`^\\.B ${code}$`, 'm'), `exit code ${code}`);
    }
  });

  it('the jail examples in fleetban-jail(5) are valid jail files', () => {
    const blocks = examples(page('fleetban-jail.5')).filter((b) => b.trimStart().startsWith('{'));
    assert.ok(blocks.length >= 3, 'the page has its JSON examples');
    for (const block of blocks) {
      const jails = parseJailFile('fleetban-jail.5', JSON.parse(block));
      assert.ok(jails.length > 0);
    }
  });

  it('the configuration example in fleetban.conf(5) is accepted by the schema', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const block = examples(page('fleetban.conf.5')).find((b) => b.trimStart().startsWith('{'));
    assert.ok(block !== undefined);
    const dir = await mkdtemp(join(tmpdir(), 'fleetban-man-'));
    try {
      const file = join(dir, 'fleetban.json');
      await writeFile(file, block);
      const config = loadConfig({ file, env: {} });
      assert.equal(config.ingest.tls.requireClientCert, true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
