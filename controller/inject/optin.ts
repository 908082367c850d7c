/**
 * Whether a pod asks for the sidecar, and its tuning annotations, read from the pod's labels and
 * annotations. Pure. Every value is checked and every problem named with what is allowed, because an
 * invalid value never refuses the pod: the webhook skips injection and says why in an Event on the owner
 * (as Linkerd does), so the message is all the person gets.
 *
 * The label `lagscale.io/inject=enabled` is what the webhook configuration's objectSelector matches
 * (selectors see labels only); the annotation of the same name may repeat `enabled` or say `disabled`,
 * which opts out a pod whose template keeps the label.
 */
import type { V1ResourceRequirements } from "@kubernetes/client-node";
import { parseQuantity } from "../../core/crd/index.js";

export const INJECT_KEY = "lagscale.io/inject";
export const INJECT_STATUS_ANNOTATION = "lagscale.io/inject-status";

/** The tuning annotations; anything else under `lagscale.io/sidecar-` is a typo and refused. */
export const TUNING_ANNOTATIONS = {
  scaledObject: "lagscale.io/scaled-object",
  trigger: "lagscale.io/trigger",
  image: "lagscale.io/sidecar-image",
  cpuRequest: "lagscale.io/sidecar-cpu-request",
  memoryRequest: "lagscale.io/sidecar-memory-request",
  cpuLimit: "lagscale.io/sidecar-cpu-limit",
  memoryLimit: "lagscale.io/sidecar-memory-limit",
} as const;

export interface InjectTuning {
  /** The ScaledObject to follow, in the pod's namespace; default the one that targets the pod's owner. */
  scaledObject?: string;
  /** The kafka trigger's `name`; default the first kafka trigger. */
  trigger?: string;
  image?: string;
  /** Only the requests and limits given; the rest keep the sidecar's defaults. */
  resources?: V1ResourceRequirements;
}

export type OptIn =
  | { kind: "not-requested" }
  | { kind: "disabled" }
  | { kind: "invalid"; problems: string[] }
  | { kind: "enabled"; tuning: InjectTuning };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An image reference: registry/path:tag or @digest; no spaces or control characters. */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;
const MAX_IMAGE_LENGTH = 512;

/** True for a plausible image reference (the annotation's and the --sidecar-image flag's check). */
export function isImageReference(s: string): boolean {
  return s.length <= MAX_IMAGE_LENGTH && IMAGE.test(s);
}

function shown(v: string): string {
  return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
}

/** Reads the opt-in and, when enabled, the tuning annotations. */
export function readOptIn(
  labels: Readonly<Record<string, string>> | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
): OptIn {
  const ann = annotations ?? {};
  const label = labels?.[INJECT_KEY];
  const value = Object.hasOwn(ann, INJECT_KEY) ? ann[INJECT_KEY] : undefined;
  if (value === "disabled") return { kind: "disabled" };
  if (value !== undefined && value !== "enabled") {
    return {
      kind: "invalid",
      problems: [`annotation ${INJECT_KEY}=${shown(value)}: must be enabled or disabled`],
    };
  }
  if (value === undefined && label !== "enabled") return { kind: "not-requested" };

  const problems: string[] = [];
  const tuning: InjectTuning = {};
  const known = new Set<string>(Object.values(TUNING_ANNOTATIONS));
  for (const key of Object.keys(ann)) {
    if (key.startsWith("lagscale.io/sidecar-") && !known.has(key)) {
      problems.push(
        `annotation ${shown(key)} is not one lagscale reads; the sidecar's are ${[...known].filter((k) => k.startsWith("lagscale.io/sidecar-")).join(", ")}`,
      );
    }
  }
  const get = (key: string): string | undefined => (Object.hasOwn(ann, key) ? ann[key] : undefined);

  const so = get(TUNING_ANNOTATIONS.scaledObject);
  if (so !== undefined) {
    if (so.length > 253 || !DNS_SUBDOMAIN.test(so)) {
      problems.push(
        `annotation ${TUNING_ANNOTATIONS.scaledObject}=${shown(so)}: must be a ScaledObject name (lower-case DNS subdomain, at most 253 characters)`,
      );
    } else tuning.scaledObject = so;
  }
  const trigger = get(TUNING_ANNOTATIONS.trigger);
  if (trigger !== undefined) {
    if (trigger.length > 253 || !DNS_SUBDOMAIN.test(trigger)) {
      problems.push(
        `annotation ${TUNING_ANNOTATIONS.trigger}=${shown(trigger)}: must be the name of a kafka trigger of the ScaledObject`,
      );
    } else tuning.trigger = trigger;
  }
  const image = get(TUNING_ANNOTATIONS.image);
  if (image !== undefined) {
    if (!isImageReference(image)) {
      problems.push(
        `annotation ${TUNING_ANNOTATIONS.image}=${shown(image)}: must be an image reference such as registry.example.com/lagscale/sidecar:0.1.0`,
      );
    } else tuning.image = image;
  }

  const quantities: ["requests" | "limits", "cpu" | "memory", string][] = [
    ["requests", "cpu", TUNING_ANNOTATIONS.cpuRequest],
    ["requests", "memory", TUNING_ANNOTATIONS.memoryRequest],
    ["limits", "cpu", TUNING_ANNOTATIONS.cpuLimit],
    ["limits", "memory", TUNING_ANNOTATIONS.memoryLimit],
  ];
  const numbers: Partial<Record<string, number>> = {};
  const resources: { requests?: Record<string, string>; limits?: Record<string, string> } = {};
  for (const [where, resource, key] of quantities) {
    const raw = get(key);
    if (raw === undefined) continue;
    const q = parseQuantity(raw);
    const example = resource === "cpu" ? `"10m" or "0.1"` : `"64Mi" or "128M"`;
    if (!q.ok || q.value <= 0) {
      problems.push(
        `annotation ${key}=${shown(raw)}: must be a positive quantity such as ${example}${q.ok ? "" : ` (${q.message})`}`,
      );
      continue;
    }
    numbers[`${where}.${resource}`] = q.value;
    (resources[where] ??= {})[resource] = raw;
  }
  for (const resource of ["cpu", "memory"] as const) {
    const req = numbers[`requests.${resource}`];
    const lim = numbers[`limits.${resource}`];
    if (req !== undefined && lim !== undefined && req > lim) {
      problems.push(
        `annotations lagscale.io/sidecar-${resource}-request (${resources.requests![resource]!}) is above lagscale.io/sidecar-${resource}-limit (${resources.limits![resource]!}): a request may not exceed its limit`,
      );
    }
  }
  if (resources.requests || resources.limits) tuning.resources = resources;
  return problems.length > 0 ? { kind: "invalid", problems } : { kind: "enabled", tuning };
}
