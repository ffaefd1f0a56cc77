// Builds the tls.Server that performs the RFC 5425 handshake for accepted sockets: cert, key and CA files read and checked.
import tls from 'node:tls';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';
import { readTlsFile } from '../core/tls-files.js';
import type { TlsListenerOptions } from './options.js';

/**
 * The server never listens itself: the stream listener hands it sockets it has already admitted.
 * Client certificates are requested but not enforced here (`rejectUnauthorized: false`), so that
 * the listener can count and report the clients it refuses. Rejects with TLS_CONFIG_INVALID.
 */
export async function createTlsServer(
  o: TlsListenerOptions,
  handshakeTimeoutMs: number,
  configKey = 'ingest.tls',
): Promise<tls.Server> {
  const read = (what: string, path: string | undefined): Promise<Buffer | undefined> =>
    path === undefined || path === ''
      ? Promise.resolve(undefined)
      : readTlsFile(`${configKey}.${what}`, path);
  const [cert, key, ca] = await Promise.all([
    read('cert', o.cert),
    read('key', o.key),
    read('ca', o.ca),
  ]);
  if (cert === undefined || key === undefined) {
    throw new FleetbanError(
      ErrorCode.TLS_CONFIG_INVALID,
      'the TLS listener needs both cert and key files',
    );
  }
  const requireCert = o.requestClientCert === true;
  if (requireCert && ca === undefined) {
    throw new FleetbanError(
      ErrorCode.TLS_CONFIG_INVALID,
      'requestClientCert needs a ca file to verify clients',
    );
  }
  try {
    return tls.createServer({
      cert,
      key,
      ...(ca === undefined ? {} : { ca }),
      requestCert: requireCert,
      // Checked by the listener instead, so that refused clients are counted and logged.
      rejectUnauthorized: false,
      handshakeTimeout: handshakeTimeoutMs,
    });
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.TLS_CONFIG_INVALID,
      `invalid TLS cert/key/ca: ${describeError(e)}`,
      { cause: e },
    );
  }
}
