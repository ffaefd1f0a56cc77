// Makes a unix socket path ready to listen on: parent folder, and a stale socket only removed when dead.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { errnoOf } from './errno.js';

/**
 * Creates the parent folder (0750: only the fleetban group may reach the socket) and clears the
 * path. A socket file left by a crashed server is removed; one a live server answers on is not,
 * because unlinking it would silently steal the admin API from a running server.
 * Anything that is not a socket is never deleted.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) {
    throw new FleetbanError(
      ErrorCode.LISTEN_FAILED,
      `${path} exists and is not a socket; refusing to replace it (check control.socket)`,
    );
  }
  if (await answers(path)) {
    throw new FleetbanError(
      ErrorCode.LISTEN_FAILED,
      `another fleetban server is running: something answers on ${path}`,
    );
  }
  try {
    await unlink(path);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}

/** Whether a process accepts connections on the socket (ECONNREFUSED = stale file). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      resolve(false);
    });
  });
}
