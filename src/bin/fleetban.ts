#!/usr/bin/env node
// The `fleetban` executable: runs the CLI with the real process streams and exits with its code.
import { main } from '../cli/main.js';
import { processIo } from '../cli/io.js';

// `fleetban bans | head` closes the pipe early: stop quietly, as other Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2), processIo());
