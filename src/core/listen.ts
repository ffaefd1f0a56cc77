// Binding a listening server or failing with LISTEN_FAILED: the one way every fleetban listener starts.
import type { ListenOptions, Server } from 'node:net';
import { ErrorCode, FleetbanError } from './errors.js';

/**
 * Calls `server.listen(options)` and resolves once it listens; rejects with LISTEN_FAILED whose
 * message starts with `what` ("admin API cannot listen on /run/…") and ends with the OS's reason.
 * Errors after that are the caller's to handle.
 */
export function listenOrFail(server: Server, options: ListenOptions, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => {
      reject(
        new FleetbanError(ErrorCode.LISTEN_FAILED, `${what}: ${e.message}`, {
          cause: e,
        }),
      );
    };
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
