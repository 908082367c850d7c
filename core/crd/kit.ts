/**
 * Small TypeBox builders that keep every schema inside what a Kubernetes structural schema can say.
 * `openapi.ts` turns the TypeBox forms below into their Kubernetes spelling (enum, int-or-string,
 * additionalProperties, x-kubernetes-preserve-unknown-fields).
 */
import {
  Type,
  type SchemaOptions,
  type TLiteral,
  type TProperties,
  type TSchema,
  type TUnion,
} from "@sinclair/typebox";

export const API_GROUP = "lagscale.io";
export const API_VERSION = "v1alpha1";
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** A description is required: it is what `kubectl explain` shows. */
type Described = SchemaOptions & { description: string };

/** A Kubernetes int32 (`format: int32`). */
export function Int32(
  options: Described & { minimum?: number; maximum?: number; exclusiveMinimum?: number },
) {
  return Type.Integer({ format: "int32", ...options });
}

/** A Kubernetes int64 (`format: int64`). */
export function Int64(options: Described & { minimum?: number }) {
  return Type.Integer({ format: "int64", ...options });
}

export function Str(options: Described & { minLength?: number; pattern?: string }) {
  return Type.String(options);
}

export function Bool(options: Described) {
  return Type.Boolean(options);
}

/** A case-sensitive string enum (emitted as `type: string, enum: [...]`). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Described,
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as TUnion<TLiteral<T[number]>[]>;
}

/** Kubernetes int-or-string (`x-kubernetes-int-or-string: true`), e.g. a resource quantity. */
export function IntOrString(options: Described & { pattern?: string }) {
  return Type.Union([Type.Integer(), Type.String()], { ...options, "x-kubernetes-int-or-string": true });
}

/** A map from string to string (emitted as `additionalProperties: {type: string}`). */
export function StringMap(options: Described) {
  return Type.Record(Type.String(), Type.String(), options);
}

/** A map from string to `value` (emitted as `additionalProperties`). */
export function MapOf<T extends TSchema>(value: T, options: Described) {
  return Type.Record(Type.String(), value, options);
}

/** An object whose unknown fields are errors at runtime (and pruned by the API server). */
export function Strict<T extends TProperties>(properties: T, options: Described & Record<string, unknown>) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** An object whose unknown fields are kept (`x-kubernetes-preserve-unknown-fields: true`). */
export function Open<T extends TProperties>(properties: T, options: Described & Record<string, unknown>) {
  return Type.Object(properties, { ...options, additionalProperties: true });
}

export const Optional = Type.Optional;
export const ArrayOf = Type.Array;
