// Holds the import direction of docs/architecture.md: each src/ folder may import only the folders listed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Folder → the fleetban folders it may import. Keep in step with docs/architecture.md. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  parse: ['core'],
  ingest: ['core'],
  store: ['core'],
  log: ['core'],
  jails: ['core', 'parse'],
  config: ['core', 'jails', 'fail2ban'],
  fail2ban: ['core', 'jails'],
  control: ['core'],
  distribute: ['core', 'store', 'control', 'nft'],
  nft: ['core'],
  cluster: ['core', 'jails'],
  notify: ['core', 'store', 'control'],
  dashboard: ['core', 'store', 'control', 'distribute'],
  agent: ['core', 'config', 'nft', 'distribute', 'log'],
  server: [
    'core',
    'parse',
    'ingest',
    'store',
    'jails',
    'config',
    'control',
    'log',
    'distribute',
    'notify',
    'cluster',
    'dashboard',
  ],
  cli: [
    'core',
    'config',
    'control',
    'jails',
    'log',
    'server',
    'distribute',
    'agent',
    'fail2ban',
    'dashboard',
  ],
  bin: ['cli'],
};

/** Pure stages: no sockets, no storage, no mail, no files. */
const PURE = new Set(['parse', 'jails']);
const IMPURE_MODULES = [
  'node:dgram',
  'node:tls',
  'node:http',
  'node:https',
  'node:fs',
  'node:fs/promises',
  'level',
  'nodemailer',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] ?? '');
}

function folderOf(file: string): string {
  return relative(SRC, file).split(sep)[0] ?? '';
}

test('every src folder is known to the import rules', () => {
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.deepEqual(
    folders.filter((f) => !(f in ALLOWED)),
    [],
  );
});

test('imports flow one way (docs/architecture.md)', () => {
  const wrong: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        const target = folderOf(join(file, '..', spec));
        if (target !== from && !(ALLOWED[from] ?? []).includes(target)) {
          wrong.push(`${relative(SRC, file)} imports ${target}/ (${spec})`);
        }
      } else if (PURE.has(from) && IMPURE_MODULES.includes(spec)) {
        wrong.push(`${relative(SRC, file)} is a pure stage but imports ${spec}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

/** The pure half of notify: mail rendering and flood control import only core, and no I/O. */
const PURE_NOTIFY_FILES = ['notice.ts', 'text.ts', 'render.ts', 'flood.ts'];

test('mail rendering and flood control are pure (only core, no I/O)', () => {
  const wrong: string[] = [];
  for (const name of PURE_NOTIFY_FILES) {
    const file = join(SRC, 'notify', name);
    for (const spec of importsOf(file)) {
      const ok = spec.startsWith('.')
        ? ['notify', 'core'].includes(folderOf(join(file, '..', spec)))
        : false;
      if (!ok) wrong.push(`notify/${name} imports ${spec}`);
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(
    importsOf(join(SRC, 'notify', 'smtp-transport.ts')).includes('nodemailer'),
    'the transport adapter is where nodemailer comes in',
  );
});

test('the allowed folder graph has no loop', () => {
  // A loop between folders would let a change run back up the pipeline; list any found.
  const loops: string[] = [];
  const visit = (folder: string, path: readonly string[]): void => {
    for (const next of ALLOWED[folder] ?? []) {
      if (next === path[0]) loops.push([...path, next].join(' → '));
      else if (!path.includes(next)) visit(next, [...path, next]);
    }
  };
  for (const folder of Object.keys(ALLOWED)) visit(folder, [folder]);
  assert.deepEqual(loops, []);
});

test('the rules catch a wrong import', () => {
  // The scanner itself must see relative imports, or the test above could never fail.
  const seen = importsOf(join(SRC, 'server', 'server.ts'));
  assert.ok(
    seen.some((s) => s.startsWith('../store/')),
    'server.ts imports the store',
  );
});

test('the server side reaches nft only through its pure modules, never the file that runs nft', () => {
  const runsNft = join(SRC, 'nft', 'nft.ts');
  const wrong: string[] = [];
  for (const file of sourceFiles(SRC)) {
    if (folderOf(file) !== 'distribute') continue;
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.') && join(file, '..', spec).replace(/\.js$/, '.ts') === runsNft) {
        wrong.push(`${relative(SRC, file)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
  assert.ok(
    importsOf(join(SRC, 'distribute', 'nftables-document.ts')).some((s) => s.includes('/nft/')),
    'the rule has something to hold',
  );
});
