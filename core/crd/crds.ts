/**
 * The four CRDs lagscale installs, with KEDA's names, short names and printer columns (plus Lag and
 * Replicas on ScaledObjects), and their YAML as checked in under charts/lagscale/crds/.
 */
import { stringify } from "yaml";
import { ClusterTriggerAuthenticationSchema, TriggerAuthenticationSchema } from "./triggerauthentication.js";
import { API_GROUP, API_VERSION } from "./kit.js";
import { buildCrd, type CrdDefinition, type JsonSchema, type PrinterColumn } from "./openapi.js";
import { ScaledJobSchema } from "./scaledjob.js";
import { ScaledObjectSchema } from "./scaledobject.js";

const condition = (type: string): PrinterColumn => ({
  name: type,
  type: "string",
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
});
const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
const triggers: PrinterColumn = { name: "Triggers", type: "string", jsonPath: ".status.triggersTypes" };
const authentications: PrinterColumn = {
  name: "Authentications",
  type: "string",
  jsonPath: ".status.authenticationsTypes",
};
const min: PrinterColumn = { name: "Min", type: "integer", jsonPath: ".spec.minReplicaCount" };
const max: PrinterColumn = { name: "Max", type: "integer", jsonPath: ".spec.maxReplicaCount" };

const authColumns = (withFilePath: boolean): PrinterColumn[] => [
  { name: "PodIdentity", type: "string", jsonPath: ".spec.podIdentity.provider" },
  { name: "Secret", type: "string", jsonPath: ".spec.secretTargetRef[*].name" },
  { name: "Env", type: "string", jsonPath: ".spec.env[*].name" },
  ...(withFilePath
    ? [{ name: "FilePath", type: "string", jsonPath: ".spec.filePath" } as PrinterColumn]
    : []),
  { name: "VaultAddress", type: "string", jsonPath: ".spec.hashiCorpVault.address" },
  { name: "ScaledObjects", type: "string", priority: 1, jsonPath: ".status.scaledobjects" },
  { name: "ScaledJobs", type: "string", priority: 1, jsonPath: ".status.scaledjobs" },
];

export const CRD_DEFINITIONS: readonly CrdDefinition[] = [
  {
    kind: "ScaledObject",
    plural: "scaledobjects",
    singular: "scaledobject",
    shortNames: ["so"],
    scope: "Namespaced",
    schema: ScaledObjectSchema,
    statusSubresource: true,
    printerColumns: [
      { name: "ScaleTargetKind", type: "string", jsonPath: ".status.scaleTargetKind" },
      { name: "ScaleTargetName", type: "string", jsonPath: ".spec.scaleTargetRef.name" },
      min,
      max,
      condition("Ready"),
      condition("Active"),
      condition("Fallback"),
      condition("Paused"),
      triggers,
      authentications,
      { name: "Lag", type: "integer", jsonPath: ".status.currentLag" },
      { name: "Replicas", type: "integer", jsonPath: ".status.currentReplicas" },
      age,
    ],
  },
  {
    kind: "ScaledJob",
    plural: "scaledjobs",
    singular: "scaledjob",
    shortNames: ["sj"],
    scope: "Namespaced",
    schema: ScaledJobSchema,
    statusSubresource: true,
    printerColumns: [
      min,
      max,
      condition("Ready"),
      condition("Active"),
      condition("Paused"),
      triggers,
      authentications,
      age,
    ],
  },
  {
    kind: "TriggerAuthentication",
    plural: "triggerauthentications",
    singular: "triggerauthentication",
    shortNames: ["ta", "triggerauth"],
    scope: "Namespaced",
    schema: TriggerAuthenticationSchema,
    statusSubresource: true,
    printerColumns: authColumns(false),
  },
  {
    kind: "ClusterTriggerAuthentication",
    plural: "clustertriggerauthentications",
    singular: "clustertriggerauthentication",
    shortNames: ["cta", "clustertriggerauth"],
    scope: "Cluster",
    schema: ClusterTriggerAuthenticationSchema,
    statusSubresource: true,
    printerColumns: authColumns(true),
  },
];

/** The CustomResourceDefinition object of each CRD. */
export function buildCrds(): JsonSchema[] {
  return CRD_DEFINITIONS.map((def) => buildCrd(def, API_GROUP, API_VERSION));
}

const HEADER = "# Generated from core/crd by `npx tsx scripts/gen-crds.ts`. Do not edit.\n";

/** The checked-in files: path relative to the repository root → content. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const def of CRD_DEFINITIONS) {
    const crd = buildCrd(def, API_GROUP, API_VERSION);
    const body = stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
    files.set(`charts/lagscale/crds/${def.plural}.${API_GROUP}.yaml`, `${HEADER}---\n${body}`);
  }
  return files;
}
