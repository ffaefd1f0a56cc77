// Built-in filter for BIND 9 (9.11 to 9.20): queries and zone transfers refused by an ACL.
import type { FilterDefinition } from './definition.js';

/**
 * `[DD-Mon-YYYY hh:mm:ss.mmm ]` (a named log file's own time, when a channel is relayed),
 * `[category: ][severity: ]client [@0xOBJECT ]ADDR#PORT`. The client is the line's first
 * field, before the query name, view and zone (client text: any query name can be asked, and
 * BIND writes `'` and spaces in it as they are or as \DDD): anchored at the start
 * (docs/filters.md), so whatever follows it cannot choose the address.
 */
const CLIENT = String.raw`^(?:\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d\.\d{3} )?(?:[a-z][\w-]{0,32}: )?(?:(?:error|warning|notice|info): )?client(?: @0x[0-9a-f]{1,16})? <HOST>#\d+(?: \(.*?\))?: (?:view [^:]{1,64}: )?`;
/**
 * BIND 9.18+ may name the ACL after "denied" (`denied (allow-query-cache did not match)`); fail2ban
 * 1.0.2 misses that form, a deliberate difference.
 */
const DENIED = String.raw`denied(?: \([\w -]{1,64}\))?\s*$`;

const refusals: readonly string[] = [
  String.raw`${CLIENT}(?:query(?: \(cache\))?|zone transfer) '.*' ${DENIED}`,
  String.raw`${CLIENT}bad zone transfer request: '.*': non-authoritative zone \(NOTAUTH\)\s*$`,
];

export const namedRefused: FilterDefinition = {
  description: 'BIND named: queries and zone transfers refused by an ACL',
  programs: ['named', 'named-pkcs11'],
  failregex: refusals,
  ignoreregex: [],
};
