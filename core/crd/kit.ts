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

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/**
 * A Kubernetes int32 (`format: int32`), bounded to int32 unless a tighter bound is given: the API server
 * does not check `format`, and a larger value would be accepted here and refused by every write of it
 * (a `/scale` with 2147483648 replicas).
 */
export function Int32(
  options: Described & { minimum?: number; maximum?: number; exclusiveMinimum?: number },
) {
  const lower = options.minimum === undefined && options.exclusiveMinimum === undefined;
  return Type.Integer({
    format: "int32",
    ...(lower ? { minimum: INT32_MIN } : {}),
    maximum: INT32_MAX,
    ...options,
  });
}

/**
 * A Kubernetes int64 (`format: int64`), bounded to what a JSON number holds exactly (2^53 - 1): beyond
 * it, the value read is not the value written.
 */
export function Int64(options: Described & { minimum?: number }) {
  return Type.Integer({ format: "int64", maximum: Number.MAX_SAFE_INTEGER, ...options });
}

/** Longest object name Kubernetes accepts (a DNS subdomain); a longer reference can only fail, in a URL. */
export const MAX_OBJECT_NAME_LENGTH = 253;

export function Str(options: Described & { minLength?: number; maxLength?: number; pattern?: string }) {
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
export function IntOrString(options: Described & { pattern?: string; maxLength?: number }) {
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
