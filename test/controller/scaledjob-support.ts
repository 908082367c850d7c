/**
 * For the ScaledJob integration tests: ScaledJob manifests, their Jobs and pods as the API server lists them,
 * and the controller's ScaledJob metrics. Jobs run through the pod runner, whose pods run /work/main's code:
 * the Job templates here use `lagscale.local/host` shell commands, which need no file of this checkout.
 */
import type { Kafka } from "kafkajs";
import type { KubeRest } from "../../controller/kube/index.js";
import { installCrds, withAdmin } from "../support/controller.js";
import { waitFor } from "../support/wait.js";
import type { StackInfo } from "../stack/types.js";
import { SCALEDJOB_NAME_LABEL } from "../../core/scaledjob/job-object.js";

export interface ScaledJobOptions {
  namespace: string;
  name: string;
  /** The container's shell command (`sh -c <script>`). */
  script: string;
  spec?: Record<string, unknown>;
  jobSpec?: Record<string, unknown>;
  annotations?: Record<string, string>;
  triggers: Record<string, unknown>[];
}

export function scaledJob(o: ScaledJobOptions): Record<string, unknown> {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledJob",
    metadata: {
      name: o.name,
      namespace: o.namespace,
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      pollingInterval: 2,
      jobTargetRef: {
        backoffLimit: 0,
        ...o.jobSpec,
        template: {
          spec: {
            restartPolicy: "Never",
            containers: [{ name: "work", image: "lagscale.local/host", command: ["sh", "-c", o.script] }],
          },
        },
      },
      ...o.spec,
      triggers: o.triggers,
    },
  };
}

export const sjPath = (ns: string, name?: string) =>
  `/apis/lagscale.io/v1alpha1/namespaces/${ns}/scaledjobs${name ? `/${name}` : ""}`;

export interface JobView {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { template: { spec: { containers: { env?: { name: string; value: string }[] }[] } } };
  status?: { conditions?: { type: string; status: string }[]; failed?: number; succeeded?: number };
}

export function finishedAs(j: JobView): "Complete" | "Failed" | undefined {
  const c = j.status?.conditions?.find(
    (x) => (x.type === "Complete" || x.type === "Failed") && x.status === "True",
  );
  return c?.type as "Complete" | "Failed" | undefined;
}

/** The ScaledJob's Jobs that are not being deleted. */
export async function listJobs(rest: KubeRest, ns: string, scaledJob: string): Promise<JobView[]> {
  const list = await rest.get<{ items: JobView[] }>(`/apis/batch/v1/namespaces/${ns}/jobs`, {
    labelSelector: `${SCALEDJOB_NAME_LABEL}=${scaledJob}`,
  });
  return list.items.filter((j) => !j.metadata.deletionTimestamp);
}

/** A counter or gauge of the controller's /metrics for one ScaledJob; 0 when absent. */
export function metricValue(text: string, metric: string, scaledJob: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${metric}{`) && line.includes(`scaledJob="${scaledJob}"`)) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return 0;
}

/**
 * Creates a ScaledJob that uses `spec.dispatch`, making sure the API server kept the field: the stack is
 * shared, and CRDs installed from a checkout without the field prune it. The ScaledJob is created paused,
 * read back, and unpaused only with its field in place; otherwise the CRDs are installed again and it is
 * created anew.
 */
export async function createDispatchScaledJob(
  stack: StackInfo,
  rest: KubeRest,
  sj: Record<string, unknown>,
): Promise<void> {
  const meta = sj.metadata as { name: string; namespace: string; annotations?: Record<string, string> };
  const paused = {
    ...sj,
    metadata: { ...meta, annotations: { ...meta.annotations, "autoscaling.keda.sh/paused": "true" } },
  };
  await waitFor(
    `ScaledJob ${meta.name} created with spec.dispatch`,
    async () => {
      await installCrds(stack);
      await rest.post(sjPath(meta.namespace), paused);
      const got = await rest.get<{ spec: { dispatch?: unknown } }>(sjPath(meta.namespace, meta.name));
      if (got.spec.dispatch !== undefined) {
        await rest.patch(sjPath(meta.namespace, meta.name), {
          metadata: { annotations: { "autoscaling.keda.sh/paused": null } },
        });
        const again = await rest.get<{ spec: { dispatch?: unknown } }>(sjPath(meta.namespace, meta.name));
        if (again.spec.dispatch !== undefined) return true;
      }
      await rest.delete(sjPath(meta.namespace, meta.name));
      await waitFor(
        `ScaledJob ${meta.name} gone`,
        async () => {
          try {
            await rest.get(sjPath(meta.namespace, meta.name));
            return undefined;
          } catch {
            return true;
          }
        },
        30_000,
        200,
      );
      return undefined;
    },
    120_000,
    1000,
  );
}

/** Sends `values` round-robin over `partitions`: message i lands on partition i % n at offset ⌊i / n⌋. */
export async function sendRoundRobin(
  k: Kafka,
  topic: string,
  partitions: number,
  values: string[],
): Promise<void> {
  const producer = k.producer();
  await producer.connect();
  try {
    for (let p = 0; p < partitions; p++) {
      const messages = values
        .map((value, i) => ({ i, value }))
        .filter(({ i }) => i % partitions === p)
        .map(({ i, value }) => ({ partition: p, key: `key-${i}`, value, headers: { n: String(i) } }));
      await producer.send({ topic, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

/** The group's committed offset of each partition, in partition order (-1: none). */
export async function committed(k: Kafka, group: string, topic: string): Promise<number[]> {
  return withAdmin(k, async (admin) => {
    const res = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (res[0]?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  });
}
