// The one catalogue of fleetban's coded errors: callers branch on `code`, messages are free to change.

export const ErrorCode = {
  CONFIG_INVALID: 'FLEETBAN_CONFIG_INVALID',
  CONFIG_NOT_FOUND: 'FLEETBAN_CONFIG_NOT_FOUND',
  JAIL_INVALID: 'FLEETBAN_JAIL_INVALID',
  FILTER_INVALID: 'FLEETBAN_FILTER_INVALID',
  FILTER_UNKNOWN: 'FLEETBAN_FILTER_UNKNOWN',
  JAIL_UNKNOWN: 'FLEETBAN_JAIL_UNKNOWN',
  BAN_TARGET_INVALID: 'FLEETBAN_BAN_TARGET_INVALID',
  BAN_NOT_FOUND: 'FLEETBAN_BAN_NOT_FOUND',
  BAN_IGNORED: 'FLEETBAN_BAN_IGNORED',
  BAN_PROTECTED: 'FLEETBAN_BAN_PROTECTED',
  STORE_OPEN_FAILED: 'FLEETBAN_STORE_OPEN_FAILED',
  STORE_CLOSED: 'FLEETBAN_STORE_CLOSED',
  LISTEN_FAILED: 'FLEETBAN_LISTEN_FAILED',
  TLS_CONFIG_INVALID: 'FLEETBAN_TLS_CONFIG_INVALID',
  REQUEST_INVALID: 'FLEETBAN_REQUEST_INVALID',
  REQUEST_TOO_LARGE: 'FLEETBAN_REQUEST_TOO_LARGE',
  UNAUTHORIZED: 'FLEETBAN_UNAUTHORIZED',
  AUTH_THROTTLED: 'FLEETBAN_AUTH_THROTTLED',
  NOT_FOUND: 'FLEETBAN_NOT_FOUND',
  SERVER_UNREACHABLE: 'FLEETBAN_SERVER_UNREACHABLE',
  NFT_FAILED: 'FLEETBAN_NFT_FAILED',
  MAIL_FAILED: 'FLEETBAN_MAIL_FAILED',
  USAGE: 'FLEETBAN_USAGE',
  INTERNAL: 'FLEETBAN_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each code: the admin API maps errors here and nowhere else. */
export const httpStatusOf: Readonly<Record<ErrorCode, number>> = {
  FLEETBAN_CONFIG_INVALID: 400,
  FLEETBAN_CONFIG_NOT_FOUND: 400,
  FLEETBAN_JAIL_INVALID: 400,
  FLEETBAN_FILTER_INVALID: 400,
  FLEETBAN_FILTER_UNKNOWN: 400,
  FLEETBAN_JAIL_UNKNOWN: 404,
  FLEETBAN_BAN_TARGET_INVALID: 400,
  FLEETBAN_BAN_NOT_FOUND: 404,
  FLEETBAN_BAN_IGNORED: 409,
  FLEETBAN_BAN_PROTECTED: 409,
  FLEETBAN_STORE_OPEN_FAILED: 500,
  FLEETBAN_STORE_CLOSED: 503,
  FLEETBAN_LISTEN_FAILED: 500,
  FLEETBAN_TLS_CONFIG_INVALID: 400,
  FLEETBAN_REQUEST_INVALID: 400,
  FLEETBAN_REQUEST_TOO_LARGE: 413,
  FLEETBAN_UNAUTHORIZED: 401,
  FLEETBAN_AUTH_THROTTLED: 429,
  FLEETBAN_NOT_FOUND: 404,
  FLEETBAN_SERVER_UNREACHABLE: 503,
  FLEETBAN_NFT_FAILED: 500,
  FLEETBAN_MAIL_FAILED: 502,
  FLEETBAN_USAGE: 400,
  FLEETBAN_INTERNAL: 500,
};

export class FleetbanError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FleetbanError';
    this.code = code;
  }
}

export function isFleetbanError(e: unknown, code?: ErrorCode): e is FleetbanError {
  return e instanceof FleetbanError && (code === undefined || e.code === code);
}

/** A readable one-line description of any thrown value, for logs and CLI output. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
