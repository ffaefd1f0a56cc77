// The README's test command is the one CI runs, and it installs every Debian package the README names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const read = (file: string): string => readFileSync(join(REPO, file), 'utf8');

test('README opens with the run command and the one test command, which .ci/run calls', () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? '';
  const commands = firstBlock
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
  assert.deepEqual(commands, ['npm ci && npm start', 'npm run test:all']);
  const ci = read('.ci/run')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#') && !/^(set|cd) /.test(l));
  assert.deepEqual(ci, ['npm run test:all']);
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  assert.equal(
    scripts['test:all'],
    'bash scripts/install-test-deps.sh && npm ci --no-audit --no-fund && npm test',
  );
});

test('the install script covers every package the README says the suite drives', () => {
  const listed = /installs\s+the missing ones of `([^`]+)`/.exec(read('README.md'))?.[1];
  assert.ok(listed !== undefined, 'README names the packages the suite drives');
  const script = read('scripts/install-test-deps.sh');
  const installed = new Set([...script.matchAll(/need\+=\(([\w+-]+)\)/g)].map((m) => m[1]));
  assert.deepEqual([...installed].sort(), listed.split(/\s+/).sort());
});
