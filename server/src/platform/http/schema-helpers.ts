import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A string enum with its literal type kept (and an `enum` in the OpenAPI document). */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/**
 * A value of `schema` or null, as OpenAPI 3.0's `nullable` rather than `anyOf`: response serializers
 * (fast-json-stringify) write it directly, where an `anyOf` makes them run a validator per value
 * to pick the branch.
 */
export function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });
}
