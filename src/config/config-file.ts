// Reading a JSON or YAML configuration file, and the error and freezing rules every loader shares.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';

/** `.yaml` / `.yml` files are YAML; anything else is JSON. */
export function isYamlFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/**
 * The top-level object of a configuration file. Throws CONFIG_NOT_FOUND when the file cannot be
 * read, CONFIG_INVALID when it is not JSON/YAML or not an object; `what` names the file's role
 * ("configuration file") and `expected` says what the top level should hold.
 */
export function readConfigObject(
  file: string,
  what: string,
  expected: string,
): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.CONFIG_NOT_FOUND,
      `${file}: cannot read the ${what}: ${describeError(e)}`,
      { cause: e },
    );
  }
  let data: unknown;
  try {
    data = isYamlFile(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw configInvalid(
      file,
      `not valid ${isYamlFile(file) ? 'YAML' : 'JSON'}: ${describeError(e)}`,
      e,
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw configInvalid(file, `the top level must be an object of ${expected}`);
  }
  return data as Record<string, unknown>;
}

/** CONFIG_INVALID with every line of `message` prefixed by where it comes from (convict joins several). */
export function configInvalid(where: string, message: string, cause?: unknown): FleetbanError {
  const text = message
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `${where}: ${line}`)
    .join('\n');
  return new FleetbanError(ErrorCode.CONFIG_INVALID, text, { cause });
}

/** Freezes a loaded configuration all the way down: validated once, then never changed. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
