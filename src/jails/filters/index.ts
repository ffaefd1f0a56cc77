// The built-in filter library: add a filter by writing its file here and listing it below.
import { ErrorCode, FleetbanError } from '../../core/errors.js';
import type { FilterDefinition, FilterRegistry, ResolvedFilter } from './definition.js';
import { sshd } from './sshd.js';

export type { FilterDefinition, FilterRegistry, ResolvedFilter } from './definition.js';

export const builtinFilters: FilterRegistry = Object.freeze({ sshd });

/** The modes a filter accepts ('' alone when it has none). */
export function filterModes(def: FilterDefinition): string[] {
  return def.modes === undefined ? [''] : Object.keys(def.modes);
}

/**
 * A filter with its mode applied. `mode` undefined = the filter's default mode.
 * Throws FILTER_UNKNOWN for a name or mode the registry does not have.
 */
export function resolveFilter(
  name: string,
  mode?: string,
  registry: FilterRegistry = builtinFilters,
): ResolvedFilter {
  const def = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (def === undefined) {
    const known = Object.keys(registry).sort().join(', ');
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `unknown filter "${name}" (built-in filters: ${known})`,
    );
  }
  const chosen = mode ?? def.defaultMode ?? '';
  let extra: readonly string[] = [];
  if (def.modes !== undefined) {
    const found = Object.hasOwn(def.modes, chosen) ? def.modes[chosen] : undefined;
    if (found === undefined) {
      const known = Object.keys(def.modes).join(', ');
      throw new FleetbanError(
        ErrorCode.FILTER_UNKNOWN,
        `filter "${name}" has no mode "${chosen}" (modes: ${known})`,
      );
    }
    extra = found;
  } else if (chosen !== '') {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `filter "${name}" has no modes, got mode "${chosen}"`,
    );
  }
  return {
    name,
    mode: chosen,
    programs: def.programs,
    failregex: [...def.failregex, ...extra],
    ignoreregex: def.ignoreregex,
  };
}
