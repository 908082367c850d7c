/**
 * Turns the TypeBox schemas into Kubernetes CRD OpenAPI v3 structural schemas, and assembles the
 * CustomResourceDefinition objects.
 *
 * Structural means: every node has a type (or is int-or-string or preserves unknown fields), no
 * `$ref`/`$id`, no `anyOf` except the int-or-string form (not emitted), `additionalProperties` only
 * without `properties`. Defaults are emitted only where KEDA's CRD has them (`crdDefault: true`); the
 * others are applied at runtime by `validate.ts` and are written into the description instead, so that
 * objects stored by the API server look as they do under KEDA.
 */
import type { TSchema } from "@sinclair/typebox";

export type JsonSchema = { [key: string]: unknown };

const PASS_THROUGH = [
  "format",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
] as const;

function isObject(v: unknown): v is JsonSchema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(schema: JsonSchema): string | undefined {
  const description = typeof schema["description"] === "string" ? schema["description"] : undefined;
  if (schema["default"] === undefined || schema["crdDefault"] === true) return description;
  const suffix = `Default: ${JSON.stringify(schema["default"])}.`;
  return description ? `${description} ${suffix}` : suffix;
}

/** One TypeBox node to its structural form. `root` drops the metadata schema as Kubernetes requires. */
export function toStructural(schema: TSchema | JsonSchema, root = false): JsonSchema {
  const s = schema as JsonSchema;
  const out: JsonSchema = {};
  const description = describe(s);
  if (description !== undefined) out["description"] = description;

  if (s["x-kubernetes-int-or-string"] === true) {
    out["x-kubernetes-int-or-string"] = true;
    if (typeof s["pattern"] === "string") out["pattern"] = s["pattern"];
    return out;
  }
  if (Array.isArray(s["anyOf"])) {
    const values = (s["anyOf"] as unknown[]).map((v) => (isObject(v) ? v["const"] : undefined));
    if (values.some((v) => typeof v !== "string")) {
      throw new Error(
        `only string enums may use anyOf in a CRD schema (at ${JSON.stringify(s["description"])})`,
      );
    }
    out["type"] = "string";
    out["enum"] = values;
  } else if (typeof s["const"] === "string") {
    out["type"] = "string";
  } else if (typeof s["type"] === "string") {
    out["type"] = s["type"];
  } else {
    throw new Error(`schema node without a type cannot be structural: ${JSON.stringify(s)}`);
  }
  for (const key of PASS_THROUGH) if (s[key] !== undefined) out[key] = s[key];
  // JSON Schema's numeric exclusive bounds are booleans beside minimum/maximum in Kubernetes' OpenAPI v3.
  for (const [exclusive, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof s[exclusive] === "number") {
      out[bound] = s[exclusive];
      out[exclusive] = true;
    }
  }
  if (s["crdDefault"] === true && s["default"] !== undefined) out["default"] = s["default"];

  if (out["type"] === "array" && isObject(s["items"])) out["items"] = toStructural(s["items"]);
  if (out["type"] === "object") {
    const patternProps = s["patternProperties"];
    if (isObject(patternProps)) {
      const value = Object.values(patternProps)[0];
      if (!isObject(value)) throw new Error("record schema without a value schema");
      out["additionalProperties"] = toStructural(value);
    } else {
      const props = isObject(s["properties"]) ? s["properties"] : {};
      const names = Object.keys(props).sort();
      if (names.length > 0) {
        const properties: JsonSchema = {};
        for (const name of names) {
          const child = props[name] as JsonSchema;
          properties[name] = root && name === "metadata" ? { type: "object" } : toStructural(child);
        }
        out["properties"] = properties;
      }
      const required = Array.isArray(s["required"]) ? [...(s["required"] as string[])].sort() : [];
      const requiredHere = root
        ? required.filter((r) => r !== "apiVersion" && r !== "kind" && r !== "metadata")
        : required;
      if (requiredHere.length > 0) out["required"] = requiredHere;
      if (s["additionalProperties"] === true) out["x-kubernetes-preserve-unknown-fields"] = true;
    }
  }
  return out;
}

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "number" | "boolean";
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  schema: TSchema;
  printerColumns: PrinterColumn[];
  statusSubresource: boolean;
  categories?: string[];
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition for one definition. */
export function buildCrd(def: CrdDefinition, group: string, version: string): JsonSchema {
  const openAPIV3Schema = toStructural(def.schema, true);
  const names: JsonSchema = {
    kind: def.kind,
    listKind: `${def.kind}List`,
    plural: def.plural,
    singular: def.singular,
    shortNames: def.shortNames,
  };
  if (def.categories) names["categories"] = def.categories;
  const versionEntry: JsonSchema = {
    name: version,
    served: true,
    storage: true,
    additionalPrinterColumns: def.printerColumns,
    schema: { openAPIV3Schema },
  };
  if (def.statusSubresource) versionEntry["subresources"] = { status: {} };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${def.plural}.${group}` },
    spec: { group, names, scope: def.scope, versions: [versionEntry] },
  };
}
