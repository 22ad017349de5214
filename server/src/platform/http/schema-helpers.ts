import { Type, type TUnsafe } from '@sinclair/typebox';

/** A string enum with its literal type kept (and an `enum` in the OpenAPI document). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}
