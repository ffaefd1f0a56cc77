// Validates the JSON body of POST /v1/bans into a BanCommand; every refusal names the field.
import { parseDuration } from '../core/duration.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { BanCommand } from './plane.js';

const ALLOWED_KEYS = new Set(['target', 'jail', 'for', 'permanent', 'reason']);
const MAX_REASON_LENGTH = 500;

function invalid(message: string): FleetbanError {
  return new FleetbanError(ErrorCode.REQUEST_INVALID, message);
}

/**
 * `{ target, jail?, for?: "1h" | seconds, permanent?: true, reason? }`. Unknown keys are refused
 * so that a misspelt `for` never silently becomes the default bantime. The target's syntax is the
 * facade's to judge (BAN_TARGET_INVALID), so the API and the server agree on one parser.
 */
export function parseBanBody(body: Readonly<Record<string, unknown>>): BanCommand {
  for (const key of Object.keys(body)) {
    if (!ALLOWED_KEYS.has(key)) {
      throw invalid(`unknown field "${key}" (allowed: target, jail, for, permanent, reason)`);
    }
  }
  const { target, jail, reason, permanent } = body;
  if (typeof target !== 'string' || target.trim() === '') {
    throw invalid('"target" is required: an IP address or CIDR prefix');
  }
  if (jail !== undefined && (typeof jail !== 'string' || jail === '')) {
    throw invalid('"jail" must be a non-empty string');
  }
  if (reason !== undefined && typeof reason !== 'string') {
    throw invalid('"reason" must be a string');
  }
  if (typeof reason === 'string' && reason.length > MAX_REASON_LENGTH) {
    throw invalid(`"reason" is longer than ${MAX_REASON_LENGTH} characters`);
  }
  if (permanent !== undefined && typeof permanent !== 'boolean') {
    throw invalid('"permanent" must be true or false');
  }
  const duration = parseFor(body.for);
  if (permanent === true && duration !== undefined) {
    throw invalid('"for" and "permanent" exclude each other');
  }
  return {
    target: target.trim(),
    ...(jail !== undefined ? { jail } : {}),
    ...(permanent === true
      ? { durationSec: null }
      : duration !== undefined
        ? { durationSec: duration }
        : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

function parseFor(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const seconds =
    typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined;
  if (seconds === undefined || seconds <= 0) {
    throw invalid(
      '"for" must be a positive duration: seconds, or a text like 30s, 10m, 1h, 1d, 1w',
    );
  }
  return seconds;
}
