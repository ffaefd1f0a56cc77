// Redis key names of the shared failure windows: every key of one attacker carries the attacker's hash tag.
import { JAIL_NAME } from '../core/types.js';

/** formatCidr text: IPv4/IPv6 digits, dots, colons, one slash. Nothing that opens or closes a hash tag. */
const TARGET_TEXT = /^[0-9A-Fa-f.:]{2,45}(?:\/\d{1,3})?$/;

/** What a keyPrefix may hold (as the store.redis.keyPrefix format): no braces, no colons, no spaces. */
const KEY_PREFIX = /^[A-Za-z0-9._-]{1,64}$/;

/** Throws a TypeError naming the problem when a keyPrefix would break the attackers' hash tags. */
export function checkKeyPrefix(prefix: string): void {
  if (!KEY_PREFIX.test(prefix))
    throw new TypeError(
      `Redis keyPrefix ${JSON.stringify(prefix)} must be 1 to 64 letters, digits, ".", "_" or "-" (a brace would become every key's hash tag)`,
    );
}

/** The two keys of one attacker in one jail, or null when the target or jail text could break the hash tag. */
export function windowKeys(
  prefix: string,
  target: string,
  jail: string,
): { readonly window: string; readonly decided: string } | null {
  if (!TARGET_TEXT.test(target) || !JAIL_NAME.test(jail)) return null;
  return { window: `${prefix}:w:{${target}}:${jail}`, decided: `${prefix}:b:{${target}}` };
}
