// The version `fleetban --version` prints: read from the package manifest, the one place it is written.
import { readFileSync } from 'node:fs';

/** Compiled to dist/src/cli/, so the manifest is three folders up (and two from src/cli in a checkout). */
export function fleetbanVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const manifest: unknown = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));
      if (typeof manifest === 'object' && manifest !== null && 'version' in manifest) {
        const { version } = manifest;
        if (typeof version === 'string') return version;
      }
    } catch {
      // not at this level; try the next
    }
  }
  return 'unknown';
}
