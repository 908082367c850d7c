/**
 * For the report receiver's tests on the stack: the controller with its receiver on plain HTTP (the local
 * stack has no serving certificate), pod-bound tokens from the real TokenRequest API, and reports as a
 * sidecar would send them. The tests themselves play the sidecar: they choose what the reports say, so
 * each decision can be pinned; the receiver, the API server and Kafka are the real ones.
 */
import { CoreV1Api } from "@kubernetes/client-node";
import type { Kafka } from "kafkajs";
import { REPORTS_AUDIENCE } from "../../controller/reports/auth.js";
import type { KubeRest } from "../../controller/kube/index.js";
import type { PartitionReport, SidecarReport } from "../../core/reports/schema.js";
import type { StackInfo } from "../stack/types.js";
import {
  startController,
  type ControllerProcess,
  type StartControllerOptions,
} from "../support/controller.js";
import { stackKubeConfig } from "../support/kube.js";
import { waitFor } from "../support/wait.js";

export interface RunningPod {
  name: string;
  uid: string;
  ip: string;
}

/** The controller with the receiver on plain HTTP on a free port, and that port. */
export async function startWithReceiver(
  o: StartControllerOptions,
): Promise<{ controller: ControllerProcess; port: number }> {
  const controller = await startController({
    ...o,
    extraArgs: [...(o.extraArgs ?? []), "--reports=http", "--reports-port=0"],
  });
  const line = await controller.waitForLog((l) => l.msg === "report receiver listening", 30_000);
  return { controller, port: Number(line.port) };
}

/** Waits for `n` Running pods with an IP of the Deployment labelled app=`app`; sorted by name. */
export async function runningPods(rest: KubeRest, ns: string, app: string, n: number): Promise<RunningPod[]> {
  return waitFor(
    `${n} running pods of ${ns}/${app}`,
    async () => {
      const list = await rest.get<{
        items: {
          metadata: { name: string; uid: string; deletionTimestamp?: string };
          status?: { phase?: string; podIP?: string };
        }[];
      }>(`/api/v1/namespaces/${ns}/pods`, { labelSelector: `app=${app}` });
      const pods = list.items
        .filter((p) => p.status?.phase === "Running" && p.status.podIP && !p.metadata.deletionTimestamp)
        .map((p) => ({ name: p.metadata.name, uid: p.metadata.uid, ip: p.status!.podIP! }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      return pods.length === n ? pods : undefined;
    },
    90_000,
    250,
  );
}

/** A token of the pod's ServiceAccount (`default`) from TokenRequest, bound to the pod, for `audience`. */
export async function podToken(
  stack: StackInfo,
  ns: string,
  pod: RunningPod,
  audience = REPORTS_AUDIENCE,
): Promise<string> {
  const core = stackKubeConfig(stack).makeApiClient(CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name: "default",
    namespace: ns,
    body: {
      spec: {
        audiences: [audience],
        expirationSeconds: 600,
        boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.name, uid: pod.uid },
      },
    },
  });
  if (!tr.status?.token) throw new Error("TokenRequest returned no token");
  return tr.status.token;
}

export function partition(
  topic: string,
  p: number,
  lag: number,
  over: Partial<PartitionReport> = {},
): PartitionReport {
  return {
    topic,
    partition: p,
    committedOffset: 0,
    logEndOffset: lag,
    lag,
    stalledForMs: 0,
    ratePerSecond: 0,
    stalled: false,
    ...over,
  };
}

export function report(
  ns: string,
  pod: RunningPod,
  scaledObject: string,
  group: string,
  partitions: PartitionReport[],
  over: Partial<SidecarReport> = {},
): SidecarReport {
  const lag = partitions.reduce((s, p) => s + p.lag, 0);
  return {
    version: 1,
    pod: { namespace: ns, name: pod.name, ip: pod.ip },
    scaledObject,
    consumerGroup: group,
    observedAt: Date.now(),
    urgent: false,
    state: partitions.some((p) => p.stalled) ? "stalled" : lag > 0 ? "busy" : "idle",
    groupState: "Stable",
    members: 1,
    partitions,
    lag,
    ratePerSecond: partitions.reduce((s, p) => s + p.ratePerSecond, 0),
    ...over,
  };
}

/** POSTs a body to the receiver; the status and the parsed answer. */
export async function post(
  port: number,
  token: string | undefined,
  body: unknown,
): Promise<{
  status: number;
  body: { error?: string; errors?: string[]; accepted?: boolean; evaluation?: string };
  retryAfter: string | null;
}> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/reports`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed = {};
  try {
    parsed = JSON.parse(text) as object;
  } catch {
    parsed = { error: text };
  }
  return { status: res.status, body: parsed, retryAfter: res.headers.get("retry-after") };
}

/** Writes `count` messages to one partition. */
export async function produceTo(k: Kafka, topic: string, partition: number, count: number): Promise<void> {
  const producer = k.producer();
  await producer.connect();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({ partition, value: `message ${i}` }));
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Plays the sidecars: POSTs what `reports()` says for each pod every `everyMs` until stopped, so the
 * reports stay fresh. Answers other than 200 are collected.
 */
export function reportLoop(
  port: number,
  tokens: ReadonlyMap<string, string>,
  reports: () => SidecarReport[],
  everyMs = 2000,
): { refused: string[]; once(): Promise<void>; stop(): void } {
  const refused: string[] = [];
  const once = async () => {
    for (const r of reports()) {
      const a = await post(port, tokens.get(r.pod.name), r);
      if (a.status !== 200) refused.push(`${r.pod.name}: ${a.status} ${a.body.error ?? ""}`);
    }
  };
  const timer = setInterval(() => void once().catch((err: unknown) => refused.push(String(err))), everyMs);
  return { refused, once, stop: () => clearInterval(timer) };
}
