// Growing the typed arrays the active-ban columns, index and heap are made of.

/** `array` itself when it has `length` elements already, else a copy of it grown to `length`. */
export function grown<T extends Uint32Array | Float64Array | Uint8Array | Int32Array>(
  array: T,
  length: number,
): T {
  if (length <= array.length) return array;
  const next = new (array.constructor as new (n: number) => T)(length);
  next.set(array);
  return next;
}
