#!/usr/bin/env node
// The `fleetban` executable: runs the CLI with the real process streams and exits with its code.
import { main } from '../cli/main.js';
import { processIo } from '../cli/io.js';

process.exitCode = await main(process.argv.slice(2), processIo());
