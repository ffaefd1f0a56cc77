// Reads every jail file of jails.dir (*.json, *.yaml, *.yml) into validated JailConfigs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';
import type { JailConfig } from '../jails/jail-config.js';
import { parseJailDefaults } from './jail-defaults.js';
import { parseJailFile } from './jail-options.js';
import type { FleetbanConfig } from './load.js';

/**
 * All jails of the configured folder, files in name order. Throws JAIL_INVALID naming the file
 * (and jail and key) on the first problem, CONFIG_INVALID when the folder cannot be read, and
 * JAIL_INVALID when two files define the same jail.
 */
export function loadJails(config: FleetbanConfig): JailConfig[] {
  const defaults = parseJailDefaults(
    config.jails.defaults,
    `${config.file ?? 'built-in defaults'}: jails.defaults`,
  );
  const dir = config.jails.dir;
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => /\.(json|ya?ml)$/i.test(n))
      .sort();
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.CONFIG_INVALID,
      `${config.file ?? 'built-in defaults'}: jails.dir: cannot read the jail folder ${dir}: ${describeError(e)}`,
      { cause: e },
    );
  }
  const jails: JailConfig[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    for (const jail of parseJailFile(
      file,
      readJailData(file),
      defaults,
      undefined,
      config.jails.fail2banDir,
    )) {
      const earlier = seen.get(jail.name);
      if (earlier !== undefined) {
        throw new FleetbanError(
          ErrorCode.JAIL_INVALID,
          `${file}: jail "${jail.name}" is already defined in ${earlier}`,
        );
      }
      seen.set(jail.name, file);
      jails.push(jail);
    }
  }
  return jails;
}

function readJailData(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FleetbanError(ErrorCode.JAIL_INVALID, `${file}: cannot read: ${describeError(e)}`, {
      cause: e,
    });
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${file}: not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${describeError(e)}`,
      { cause: e },
    );
  }
}
