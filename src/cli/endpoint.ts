// Finds the admin API of the server a CLI command talks to, from the same config the server reads.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { AdminEndpoint } from '../control/admin-client.js';
import { loadControlConfig } from '../config/load.js';

/**
 * The endpoint the CLI should call: the config file (`--config`, FLEETBAN_CONFIG, or
 * /etc/fleetban/fleetban.json when present, else the built-in defaults) with the environment's
 * overrides, exactly as the server resolves it. Only the `control` section is read and checked:
 * the server's other sections and secrets are none of the CLI's business. The socket wins when both are configured: the
 * CLI normally runs on the server itself. An empty socket with TCP enabled selects TCP.
 */
export function resolveAdminEndpoint(
  configFile: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): AdminEndpoint {
  const config = loadControlConfig({ file: configFile, env: env });
  const { socket, http } = config.control;
  if (socket !== '') return { kind: 'unix', socket };
  if (http.enabled) return { kind: 'tcp', host: http.address, port: http.port, token: http.token };
  throw new FleetbanError(
    ErrorCode.CONFIG_INVALID,
    `${config.file ?? 'built-in defaults'}: control.socket is empty and control.http is not enabled; the admin API is unreachable`,
  );
}
