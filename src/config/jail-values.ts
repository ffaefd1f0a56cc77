// Parsers of single jail option values (booleans, numbers, lists, banmask, hosts, notify) with errors that name the file, jail and key.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { parseCidr, type Cidr } from '../core/ip.js';
import type { Banmask, HostSelector, Notify } from '../jails/jail-config.js';

/** Throws JAIL_INVALID saying what `allowed` values are. */
export type Fail = (allowed: string) => never;

export function where(file: string, jail?: string): string {
  return jail === undefined ? file : `${file}: jail "${jail}"`;
}

export function failer(place: string, key: string, value: unknown): Fail {
  return (allowed) => {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${place}: "${key}" must be ${allowed}, got ${show(value)}`,
    );
  };
}

export function show(v: unknown): string {
  // JSON.stringify returns undefined for undefined and functions, whatever its declared type says.
  const text = JSON.stringify(v) as string | undefined;
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function bool(v: unknown, fail: Fail): boolean {
  if (v === true || v === 'true' || v === 'yes') return true;
  if (v === false || v === 'false' || v === 'no') return false;
  return fail('true or false');
}

export function positiveInt(v: unknown, fail: Fail): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : fail('a positive integer');
}

export function positiveNumber(v: unknown, fail: Fail): number {
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : fail('a positive number');
}

/** An array, or a string split on spaces and commas (fail2ban's list syntax). */
export function list(v: unknown, fail: Fail, allowed: string): unknown[] {
  if (typeof v === 'string') return v.split(/[\s,]+/).filter((s) => s !== '');
  return Array.isArray(v) ? v : fail(allowed);
}

export function strings(v: unknown, fail: Fail, allowed: string): string[] {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : fail(allowed);
  return items.map((s) => (typeof s === 'string' && s !== '' ? s : fail(allowed)));
}

export function banmask(v: unknown, current: Banmask, fail: Fail): Banmask {
  const allowed = 'an object such as { "v4": 32, "v6": 64 } (v4 0-32, v6 0-128)';
  if (!isObject(v)) return fail(allowed);
  const out = { ...current };
  for (const [k, bits] of Object.entries(v)) {
    const max = k === 'v4' ? 32 : k === 'v6' ? 128 : fail(allowed);
    out[k as 'v4' | 'v6'] =
      typeof bits === 'number' && Number.isInteger(bits) && bits >= 0 && bits <= max
        ? bits
        : fail(allowed);
  }
  return out;
}

const HOSTNAME =
  /^(?:\*\.)?[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;

export function hosts(v: unknown, fail: Fail): HostSelector {
  const allowed =
    'reporting hostnames (`*.example.org` allowed) or sender CIDRs, as an array or a space-separated string';
  const names: string[] = [];
  const cidrs: Cidr[] = [];
  for (const item of list(v, fail, allowed)) {
    if (typeof item !== 'string') return fail(allowed);
    const cidr = parseCidr(item);
    if (cidr !== null) cidrs.push(cidr);
    else if (HOSTNAME.test(item.toLowerCase())) names.push(item.toLowerCase());
    else return fail(allowed);
  }
  return { names, cidrs };
}

export function notify(v: unknown, fail: Fail): Notify {
  const allowed = '"off", "default" or an array of mail addresses';
  if (v === 'off' || v === 'default') return v;
  if (!Array.isArray(v) || v.length === 0) return fail(allowed);
  return v.map((r) => (typeof r === 'string' && /^[^\s@]+@[^\s@]+$/.test(r) ? r : fail(allowed)));
}
