/** The shape of the texts with every leaf widened to string: en-US must have zh-CN's keys. */
export type Messages<T> = { readonly [K in keyof T]: T[K] extends string ? string : Messages<T[K]> };
