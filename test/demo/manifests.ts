/**
 * The demo's Kubernetes objects: demo-apps/manifests as written, with the two changes the local stack needs, and
 * the talk's ScaledObject. Pure functions, so that what the demo changes is visible and tested.
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

export const NAMESPACE = "keda-demo";
export const TOPIC = "my-topic";
export const PARTITIONS = 5;
export const GROUP = "g1";
export const PRODUCER = "kafka-producer";
export const CONSUMER = "kafka-consumer";
export const SCALED_OBJECT = "kafka-scaledobject";
export const PRODUCER_PORT = 5550;

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
      throw new Error(`${full}: ${(err as Error).message}`);
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

/** The talk's ScaledObject (SEED.md), with lagscale's apiVersion and the stack's bootstrap servers. */
export function scaledObject(bootstrapServers: string[]): KubernetesObject & { spec: unknown } {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: SCALED_OBJECT, namespace: NAMESPACE },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: CONSUMER },
      pollingInterval: 10,
      cooldownPeriod: 30,
      idleReplicaCount: 0,
      minReplicaCount: 1,
      maxReplicaCount: 5,
      triggers: [
        {
          type: "kafka",
          metadata: {
            bootstrapServers: bootstrapServers.join(","),
            consumerGroup: GROUP,
            topic: TOPIC,
            lagThreshold: "10",
            offsetResetPolicy: "latest",
            allowIdleConsumers: "false",
            version: "1.0.0",
          },
        },
      ],
    },
  };
}
