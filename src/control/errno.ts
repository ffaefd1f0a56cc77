// The `code` of a Node system error (ENOENT, ECONNREFUSED, …), read without trusting the thrown value's shape.

export function errnoOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string')
    return e.code;
  return undefined;
}
