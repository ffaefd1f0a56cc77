// Where the benchmarks find the repository, the shared load tools and their own scratch folder.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found upwards from this file (it runs compiled from dist/bench/lib/). */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bench'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the fleetban repository root above the benchmark files');
}

export const repoRoot = findRepoRoot();

/** gen_authlog.py, udpblast.c, tcpblast.c: kept beside the repository, never copied into it. */
export const toolsDir = resolve(
  repoRoot,
  process.env['FLEETBAN_TOOLS_DIR'] ?? join('..', 'shared', 'tools'),
);

/** Compiled senders, generated logs and JSON results: git-ignored. */
export const outDir = join(repoRoot, 'bench', 'out');

export const fleetbanBin = join(repoRoot, 'dist', 'src', 'bin', 'fleetban.js');

/** The jail folder shipped with fleetban (sshd). */
export const shippedJailsDir = join(repoRoot, 'config', 'jails.d');
