// Reads a TLS certificate, key or CA file named by a config key, failing with TLS_CONFIG_INVALID.
import { readFile } from 'node:fs/promises';
import { ErrorCode, FleetbanError, describeError } from './errors.js';

/**
 * The file's bytes (PEM). `key` is the config key that names it (`ingest.tls.cert`,
 * `agents.tls.key`, …), so that the error says what to fix.
 */
export async function readTlsFile(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.TLS_CONFIG_INVALID,
      `cannot read ${key} ${path}: ${describeError(e)}`,
      { cause: e },
    );
  }
}
