// The real `fleetban` executable: a reader that closes the pipe early (`| head`) ends it quietly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeAuthLog } from '../helpers/auth-log.js';
import { FLEETBAN_BIN } from '../helpers/server-process.js';

test('a stdout pipe closed by the reader ends the CLI with exit 0 and no stack trace', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-cli-'));
  try {
    const log = join(dir, 'auth.log');
    await writeAuthLog(log, 5000);
    const child = spawn(
      process.execPath,
      [FLEETBAN_BIN, 'test-filter', 'sshd', log, '--print-missed', '--print-matched'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Close our end before the output comes, as `| tail -0` or a `head` that is done does.
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
