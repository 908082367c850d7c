/**
 * The demo's Kubernetes objects: demo-apps/manifests as written (the consumer's pod template opts in to the
 * sidecar with the label and annotation `lagscale.io/inject: enabled`, as a user's would), with the changes the
 * local stack needs, the consumer starting at 0 replicas, and the talk's ScaledObject. Pure functions, so that
 * what the demo changes is visible and tested.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  loadAllYaml,
  type KubernetesObject,
  type V1Container,
  type V1Deployment,
  type V1EnvVar,
} from "@kubernetes/client-node";
import { INJECT_KEY } from "../../controller/inject/optin.js";
import { errorText } from "../../core/errors.js";

export const NAMESPACE = "keda-demo";
export const TOPIC = "my-topic";
export const PARTITIONS = 5;
export const GROUP = "g1";
export const PRODUCER = "kafka-producer";
export const CONSUMER = "kafka-consumer";
export const SCALED_OBJECT = "kafka-scaledobject";
export const PRODUCER_PORT = 5550;
/** Where the demo installs lagscale's controller. */
export const LAGSCALE_NAMESPACE = "lagscale";
/** The ScaledObject's trigger (the injector configures the sidecar from it). */
export const LAG_THRESHOLD = 10;

/** The talk's ScaledObject, applied after the workloads (the validating webhook wants its target to exist). */
export const SCALED_OBJECT_FILE = "scaledobject.yaml";
/** The ScaledObject's spec as far as the demo reads it. */
interface ScaledObjectSpec {
  triggers?: { type: string; metadata?: Record<string, string> }[];
  [field: string]: unknown;
}

/** Applied in this order. topic-job.yaml is left out: the demo creates the topic with the Kafka admin API. */
export const MANIFEST_FILES = [
  "namespace.yaml",
  "producer-deployment.yaml",
  "producer-service.yaml",
  "consumer-deployment.yaml",
];

export function loadManifests(dir: string): KubernetesObject[] {
  const out: KubernetesObject[] = [];
  for (const file of MANIFEST_FILES) {
    const full = path.join(dir, file);
    let docs: (KubernetesObject | null)[];
    try {
      // typed objects (the client serializes them through its models, see installCrds)
      docs = loadAllYaml(readFileSync(full, "utf8"));
    } catch (err) {
      throw new Error(`${full}: ${errorText(err)}`);
    }
    for (const obj of docs) if (obj) out.push(obj);
  }
  return out;
}

function containers(obj: KubernetesObject): V1Container[] {
  if (obj.kind !== "Deployment") return [];
  return (obj as V1Deployment).spec?.template.spec?.containers ?? [];
}

/**
 * The stack's changes, on copies:
 * - `KAFKA_BROKER` (the talk's Strimzi Service name) becomes the stack's bootstrap servers;
 * - the producer listens on its pod IP (`$(POD_IP):5550` instead of `:5550`): on the pod runner every pod shares
 *   the host's network, and a pod's own address is its loopback IP.
 */
export function forLocalStack(
  objects: readonly KubernetesObject[],
  bootstrapServers: string[],
): KubernetesObject[] {
  const brokers = bootstrapServers.join(",");
  return objects.map((original) => {
    const obj = structuredClone(original);
    for (const c of containers(obj)) {
      const env: V1EnvVar[] = c.env ?? [];
      for (const e of env) if (e.name === "KAFKA_BROKER") e.value = brokers;
      const bind = env.findIndex((e) => e.name === "BIND_ADDRESS");
      if (bind >= 0) {
        const port = /:(\d+)$/.exec(env[bind]?.value ?? "")?.[1] ?? String(PRODUCER_PORT);
        env[bind] = { name: "BIND_ADDRESS", value: `$(POD_IP):${port}` };
        if (!env.some((e) => e.name === "POD_IP")) {
          // before BIND_ADDRESS: $(VAR) only sees variables defined earlier in the list
          env.splice(bind, 0, { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } });
        }
      }
      c.env = env;
    }
    return obj;
  });
}

/**
 * The consumer Deployment at 0 replicas (a copy; other objects unchanged). The injector takes the sidecar's
 * settings from the ScaledObject that targets the pod's Deployment, and the validating webhook refuses a
 * ScaledObject whose target does not exist: so the Deployment comes first, without pods, and its first pod is
 * created by the ScaledObject's activation, when the injector can find it.
 */
export function startingAtZero(objects: readonly KubernetesObject[]): KubernetesObject[] {
  return objects.map((original) => {
    const obj = structuredClone(original);
    if (obj.kind === "Deployment" && obj.metadata?.name === CONSUMER) {
      const d = obj as V1Deployment;
      if (d.spec) d.spec.replicas = 0;
    }
    return obj;
  });
}

/** `--no-sidecar`: the consumer's pods opt out of the injection (`lagscale.io/inject: disabled`). */
export function withSidecarOptOut(objects: readonly KubernetesObject[]): KubernetesObject[] {
  return objects.map((original) => {
    const obj = structuredClone(original);
    if (obj.kind !== "Deployment" || obj.metadata?.name !== CONSUMER) return obj;
    const template = (obj as V1Deployment).spec?.template;
    if (!template) throw new Error(`Deployment ${CONSUMER} has no pod template`);
    template.metadata = {
      ...template.metadata,
      annotations: { ...template.metadata?.annotations, [INJECT_KEY]: "disabled" },
    };
    return obj;
  });
}

/** The same containers on `lagscale.local/node`, for a pod runner started before the demo images were mapped. */
export function sourceImagePatch(deployment: V1Deployment): { image: string; args: string[] } | undefined {
  const image = deployment.spec?.template.spec?.containers[0]?.image ?? "";
  if (image.startsWith("lagscale/demo-producer")) {
    return { image: "lagscale.local/node", args: ["demo-apps/producer/src/main.ts"] };
  }
  if (image.startsWith("lagscale/demo-consumer")) {
    return { image: "lagscale.local/node", args: ["demo-apps/consumer/src/main.ts"] };
  }
  return undefined;
}

/**
 * The talk's ScaledObject (SEED.md) as `demo-apps/manifests/scaledobject.yaml` says it, with the stack's
 * bootstrap servers in place of Strimzi's bootstrap Service.
 */
export function scaledObject(
  dir: string,
  bootstrapServers: string[],
): KubernetesObject & { spec: ScaledObjectSpec } {
  const file = path.join(dir, SCALED_OBJECT_FILE);
  const [so] = loadAllYaml(readFileSync(file, "utf8")) as (KubernetesObject & { spec?: ScaledObjectSpec })[];
  const trigger = so?.spec?.triggers?.find((t) => t.type === "kafka");
  if (!so?.spec || so.kind !== "ScaledObject" || !trigger) {
    throw new Error(`${file}: expected a ScaledObject with a kafka trigger`);
  }
  trigger.metadata = { ...trigger.metadata, bootstrapServers: bootstrapServers.join(",") };
  return { ...so, spec: so.spec };
}
