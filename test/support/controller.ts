/**
 * For integration tests of the controller: run `controller/main.ts` as a child process against the local
 * stack (its JSON log lines collected and copied to `<stack dir>/logs/`), and the Kubernetes and Kafka chores
 * the ScaledObject tests share (a namespace of their own, the CRDs, a consumer Deployment running the demo
 * consumer through the pod runner, ScaledObjects, Events, `kubectl get scaledobjects`).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel, Partitioners, type Admin, type SASLOptions } from "kafkajs";
import YAML from "yaml";
import { INJECT_KEY } from "../../controller/inject/optin.js";
import {
  KubeRest,
  isAlreadyExists,
  isConflict,
  isNotFound,
  loadKubeConfig,
} from "../../controller/kube/index.js";
import { kubeBinDir } from "../stack/kube/control-plane.js";
import { createTopic } from "../stack/kafka/index.js";
import { sleep } from "../stack/process.js";
import { cacheDir, repoRoot } from "../stack/paths.js";
import type { StackInfo } from "../stack/types.js";
import { clients, createNamespace as createKubeNamespace } from "./kube.js";
import { killWhenThisProcessEnds } from "./tie.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

/** One JSON log line of the controller. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

export interface ControllerProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly logs: LogLine[];
  readonly logFile: string;
  metricsPort: number;
  healthPort: number;
  /** Resolves with the first log line (from index `from` on) for which `match` is true. */
  waitForLog(match: (l: LogLine) => boolean, timeoutMs: number, from?: number): Promise<LogLine>;
  metrics(): Promise<string>;
  /** Sends `sig` and resolves with the exit code (or signal) and how long the exit took. */
  stop(sig?: NodeJS.Signals): Promise<{ status: number | string; ms: number }>;
  exited: Promise<number | string>;
}

export interface StartControllerOptions {
  stack: StackInfo;
  /** For the log file name and the leader identity (POD_NAME). */
  name: string;
  watchNamespaces: string[];
  /** Default false. */
  leaderElect?: boolean;
  leaseName?: string;
  leaseNamespace?: string;
  /** Go durations. */
  leaseDuration?: string;
  renewDeadline?: string;
  retryPeriod?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** Run this compiled `controller/main.js` with node instead of `controller/main.ts` through tsx. */
  compiledMain?: string;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** Starts the controller and waits until its metrics and health servers listen. */
export async function startController(o: StartControllerOptions): Promise<ControllerProcess> {
  const args = [
    ...(o.compiledMain
      ? [o.compiledMain]
      : ["--import", "tsx", path.join(repoRoot, "controller", "main.ts")]),
    "--kubeconfig",
    o.stack.kubeconfig,
    // A flag in extraArgs replaces its default here (the controller refuses a flag given twice).
    ...[
      "--metrics-port=0",
      "--health-port=0",
      "--bind-address=127.0.0.1",
      "--webhooks=off",
      `--leader-elect=${o.leaderElect ? "true" : "false"}`,
      "--log-level=debug",
    ].filter((d) => !(o.extraArgs ?? []).some((a) => a.split("=")[0] === d.split("=")[0])),
    ...(o.leaseName ? [`--leader-election-id=${o.leaseName}`] : []),
    ...(o.leaseNamespace ? [`--leader-election-namespace=${o.leaseNamespace}`] : []),
    ...(o.leaseDuration ? [`--lease-duration=${o.leaseDuration}`] : []),
    ...(o.renewDeadline ? [`--renew-deadline=${o.renewDeadline}`] : []),
    ...(o.retryPeriod ? [`--retry-period=${o.retryPeriod}`] : []),
    ...(o.extraArgs ?? []),
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    WATCH_NAMESPACE: o.watchNamespaces.join(","),
    POD_NAME: o.name,
    ...o.env,
  };
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  if (child.pid !== undefined) killWhenThisProcessEnds(child.pid);
  const logDir = path.join(o.stack.dir, "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `controller-${o.name}.log`);
  const out = createWriteStream(logFile, { flags: "a" });
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    out.write(chunk);
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const w of waiters) w();
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    out.write(chunk);
    stderr += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, sig) => {
      children.delete(child);
      out.end();
      resolve(code ?? sig ?? "unknown");
      for (const w of waiters) w();
    }),
  );
  let done = false;
  void exited.then(() => (done = true));

  const waitForLog = (match: (l: LogLine) => boolean, timeoutMs: number, from = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = logs.slice(from).find(match);
        if (found) {
          cleanup();
          resolve(found);
        } else if (done) {
          cleanup();
          reject(
            new Error(
              `controller ${o.name} exited before the expected log line; stderr: ${stderr.slice(-2000)}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(`controller ${o.name}: no matching log line within ${timeoutMs} ms (see ${logFile})`),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });

  const port = async (server: string) =>
    Number((await waitForLog((l) => l.server === server && typeof l.port === "number", 60_000)).port);
  const metricsPort = await port("metrics");
  const healthPort = await port("health");
  return {
    child,
    name: o.name,
    logs,
    logFile,
    metricsPort,
    healthPort,
    waitForLog,
    exited,
    metrics: async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
        signal: AbortSignal.timeout(5000),
      });
      return res.text();
    },
    stop: async (sig: NodeJS.Signals = "SIGTERM") => {
      const t0 = Date.now();
      if (!done) child.kill(sig);
      const status = await exited;
      return { status, ms: Date.now() - t0 };
    },
  };
}

// ---- Kubernetes ---------------------------------------------------------------------------------------

export function kubectlPath(): string {
  return path.join(kubeBinDir(cacheDir()), "kubectl");
}

export async function kubectl(stack: StackInfo, args: string[]): Promise<string> {
  const { stdout } = await run(kubectlPath(), ["--kubeconfig", stack.kubeconfig, ...args], {
    timeout: 30_000,
  });
  return stdout;
}

export function kubeRest(stack: StackInfo): KubeRest {
  return new KubeRest(loadKubeConfig(stack.kubeconfig));
}

/** Installs (or updates) lagscale's CRDs from the chart and waits until they are served. */
export async function installCrds(stack: StackInfo): Promise<void> {
  const dir = path.join(repoRoot, "charts", "lagscale", "crds");
  const rest = kubeRest(stack);
  const names: string[] = [];
  try {
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".yaml"))) {
      const crd = YAML.parse(readFileSync(path.join(dir, f), "utf8")) as {
        metadata: { name: string };
      };
      const p = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
      // Test files run side by side and each installs the CRDs: a neighbour's create or update between
      // this one's read and write (409) means reading again.
      for (let attempt = 1; ; attempt++) {
        try {
          const existing = await rest
            .get<{ metadata: { resourceVersion: string } }>(p)
            .catch((err: unknown) => {
              if (isNotFound(err)) return undefined;
              throw err;
            });
          if (existing) {
            await rest.put(p, {
              ...crd,
              metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion },
            });
          } else {
            await rest.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
          }
          break;
        } catch (err) {
          if (!(isConflict(err) || isAlreadyExists(err)) || attempt >= 5) throw err;
        }
      }
      names.push(crd.metadata.name);
    }
    for (const name of names) {
      await waitFor(
        `CRD ${name} to be Established`,
        async () => {
          const crd = await rest.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
            `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
          );
          return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
            ? true
            : undefined;
        },
        60_000,
      );
    }
    await waitFor(
      "the ScaledObject CRD to be served",
      async () => {
        const list = await rest.get<{ resources?: { name: string }[] }>("/apis/lagscale.io/v1alpha1");
        return list.resources?.some((r) => r.name === "scaledobjects") ? true : undefined;
      },
      60_000,
    );
  } finally {
    rest.close();
  }
}

export interface TestNamespace {
  name: string;
  /** Deletes the ScaledObjects (their finalizers removed, so no controller is needed) and the namespace. */
  remove(): Promise<void>;
}

/** A namespace of the test's own (test/support/kube.ts), whose `remove` also lets go of its ScaledObjects. */
export async function createNamespace(stack: StackInfo, prefix: string): Promise<TestNamespace> {
  const ns = await createKubeNamespace(clients(stack).core, prefix);
  return {
    name: ns.name,
    remove: async () => {
      // Delete first: a deleting ScaledObject never gets its finalizer back from a controller still running,
      // so stripping the finalizers afterwards sticks even when this runs before the controller stops.
      await ns.remove();
      const rest = kubeRest(stack);
      try {
        for (let attempt = 0; attempt < 40; attempt++) {
          const list = await rest.get<{ items: { metadata: { name: string } }[] }>(soPath(ns.name));
          if (list.items.length === 0) break;
          for (const so of list.items) {
            await rest
              .patch(soPath(ns.name, so.metadata.name), { metadata: { finalizers: null } })
              .catch(() => undefined);
          }
          await sleep(250);
        }
      } catch {
        // the CRD or the namespace may be gone already
      } finally {
        rest.close();
      }
    },
  };
}

export interface ConsumerDeploymentOptions {
  namespace: string;
  name: string;
  replicas: number;
  brokers: string[];
  topic: string;
  group: string;
  /** Seconds per message (the demo consumer's SLEEP). */
  sleepSeconds: number;
}

/** The talk's consumer Deployment, running the demo consumer through the pod runner. */
export function consumerDeployment(o: ConsumerDeploymentOptions): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: o.name, namespace: o.namespace, labels: { app: o.name } },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: o.name } },
      template: {
        metadata: { labels: { app: o.name } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: "kafka-consumer",
              image: "lagscale/demo-consumer:dev",
              env: [
                { name: "KAFKA_BROKER", value: o.brokers.join(",") },
                { name: "KAFKA_TOPIC", value: o.topic },
                { name: "KAFKA_CONSUMER_GROUP", value: o.group },
                { name: "SLEEP", value: String(o.sleepSeconds) },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
              ],
            },
          ],
        },
      },
    },
  };
}

/** What tests read of a pod. */
export interface PodView {
  metadata: {
    name: string;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { initContainers?: { name: string }[]; containers: { name: string }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

/** The pods of `ns` that `selector` selects and that are not being deleted. */
export async function livePods(rest: KubeRest, ns: string, selector: string): Promise<PodView[]> {
  const list = await rest.get<{ items: PodView[] }>(
    `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`,
  );
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

/** The Deployment (changed in place) with its pods opting in to the sidecar: label and annotation, as a user's. */
export function withSidecarOptIn(d: Record<string, unknown>): Record<string, unknown> {
  const spec = d.spec as {
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } };
  };
  spec.template.metadata.labels[INJECT_KEY] = "enabled";
  spec.template.metadata.annotations = { ...spec.template.metadata.annotations, [INJECT_KEY]: "enabled" };
  return d;
}

export async function createDeployment(rest: KubeRest, deployment: Record<string, unknown>): Promise<void> {
  const ns = (deployment.metadata as { namespace: string }).namespace;
  await rest.post(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment);
}

export interface DeploymentView {
  spec: number;
  ready: number;
  status: number;
}

export async function deploymentReplicas(rest: KubeRest, ns: string, name: string): Promise<DeploymentView> {
  const d = await rest.get<{
    spec?: { replicas?: number };
    status?: { replicas?: number; readyReplicas?: number };
  }>(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  return {
    spec: d.spec?.replicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
    status: d.status?.replicas ?? 0,
  };
}

export async function setDeploymentReplicas(
  rest: KubeRest,
  ns: string,
  name: string,
  n: number,
): Promise<void> {
  await rest.patch(`/apis/apps/v1/namespaces/${ns}/deployments/${name}/scale`, { spec: { replicas: n } });
}

export interface ScaledObjectOptions {
  namespace: string;
  name: string;
  target: string;
  spec?: Record<string, unknown>;
  annotations?: Record<string, string>;
  triggers: Record<string, unknown>[];
}

export function scaledObject(o: ScaledObjectOptions): Record<string, unknown> {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: {
      name: o.name,
      namespace: o.namespace,
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: { scaleTargetRef: { name: o.target }, ...o.spec, triggers: o.triggers },
  };
}

export function kafkaTrigger(o: {
  brokers: string[];
  group: string;
  topic: string;
  lagThreshold?: number;
  extra?: Record<string, string>;
  authRef?: string;
}): Record<string, unknown> {
  return {
    type: "kafka",
    metadata: {
      bootstrapServers: o.brokers.join(","),
      consumerGroup: o.group,
      topic: o.topic,
      lagThreshold: String(o.lagThreshold ?? 10),
      offsetResetPolicy: "latest",
      allowIdleConsumers: "false",
      version: "1.0.0",
      ...o.extra,
    },
    ...(o.authRef ? { authenticationRef: { name: o.authRef } } : {}),
  };
}

export interface ScaledObjectView {
  metadata: {
    name: string;
    namespace: string;
    annotations?: Record<string, string>;
    finalizers?: string[];
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  spec: Record<string, unknown>;
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    originalReplicaCount?: number;
    pausedReplicaCount?: number;
    currentLag?: number;
    currentReplicas?: number;
    lastActiveTime?: string;
    health?: Record<string, { numberOfFailures?: number; status?: string }>;
    externalMetricNames?: string[];
  };
}

function soPath(ns: string, name?: string): string {
  return `/apis/lagscale.io/v1alpha1/namespaces/${ns}/scaledobjects${name ? `/${name}` : ""}`;
}

export async function createScaledObject(rest: KubeRest, so: Record<string, unknown>): Promise<void> {
  await rest.post(soPath((so.metadata as { namespace: string }).namespace), so);
}

export async function getScaledObject(
  rest: KubeRest,
  ns: string,
  name: string,
): Promise<ScaledObjectView | undefined> {
  try {
    return await rest.get<ScaledObjectView>(soPath(ns, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function patchScaledObject(
  rest: KubeRest,
  ns: string,
  name: string,
  patch: unknown,
): Promise<void> {
  await rest.patch(soPath(ns, name), patch);
}

export async function deleteScaledObject(rest: KubeRest, ns: string, name: string): Promise<void> {
  await rest.delete(soPath(ns, name));
}

export function condition(so: ScaledObjectView | undefined, type: string): string | undefined {
  return so?.status?.conditions?.find((c) => c.type === type)?.status;
}

export interface EventView {
  reason: string;
  message: string;
  type: string;
  count: number;
  /** Creation order (the recorder's name suffix grows with time). */
  order: bigint;
}

/** Events about one object, in the order they were first recorded. */
export async function eventsFor(
  rest: KubeRest,
  ns: string,
  kind: string,
  name: string,
): Promise<EventView[]> {
  const list = await rest.get<{
    items: { metadata: { name: string }; reason: string; message: string; type: string; count?: number }[];
  }>(`/api/v1/namespaces/${ns}/events`, {
    fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
  });
  return list.items
    .map((e) => {
      const suffix = e.metadata.name.slice(e.metadata.name.lastIndexOf(".") + 1);
      let order = 0n;
      try {
        order = BigInt(`0x${suffix}`);
      } catch {
        // not the recorder's naming: keep it first
      }
      return { reason: e.reason, message: e.message, type: e.type, count: e.count ?? 1, order };
    })
    .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
}

// ---- Kafka --------------------------------------------------------------------------------------------

export function kafka(brokers: string[], sasl?: SASLOptions): Kafka {
  return new Kafka({
    clientId: "lagscale-controller-test",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 5 },
    ...(sasl ? { sasl } : {}),
  });
}

export async function withAdmin<T>(k: Kafka, f: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = k.admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Writes `count` messages the way the talk's producer does: key `Key-<i>`, value `Message No: <i>, Time: ...`. */
export async function produce(k: Kafka, topic: string, count: number): Promise<void> {
  const producer = k.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const now = new Date().toISOString();
    const messages = Array.from({ length: count }, (_, i) => ({
      key: `Key-${i}`,
      value: `Message No: ${i}, Time: ${now}`,
    }));
    // A topic created a moment ago may not be in every broker's metadata yet (UNKNOWN_TOPIC_OR_PARTITION).
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.send({ topic, messages });
        return;
      } catch (err) {
        if (attempt >= 10) throw err;
        await sleep(500);
      }
    }
  } finally {
    await producer.disconnect();
  }
}

/** Total lag of the group on the topic (uncommitted partitions count from 0). */
export async function groupLag(admin: Admin, group: string, topic: string): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let lag = 0;
  for (const e of ends) {
    const c = byPartition.get(e.partition) ?? -1;
    lag += Number(e.high) - Math.max(0, c);
  }
  return lag;
}

/** A Deployment whose pods only sleep: for tests where the replica count is what matters, not the work. */
export function sleeperDeployment(
  namespace: string,
  name: string,
  replicas: number,
): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "sleep", image: "lagscale.local/host", command: ["sleep", "3600"] }],
        },
      },
    },
  };
}

/** Commits the group at the end of every partition: lag 0, whatever was produced. */
export async function commitAtEnd(admin: Admin, group: string, topic: string): Promise<void> {
  // A topic created a moment ago may not be known to the group coordinator yet: retry briefly.
  for (let attempt = 1; ; attempt++) {
    try {
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId: group,
        topic,
        partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
      });
      return;
    } catch (err) {
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Samples the Deployment's spec.replicas every `everyMs` until stopped. */
export function sampleReplicas(
  rest: KubeRest,
  ns: string,
  name: string,
  everyMs = 500,
): { values: number[]; stop(): void } {
  const values: number[] = [];
  const timer = setInterval(() => {
    deploymentReplicas(rest, ns, name).then(
      (d) => values.push(d.spec),
      () => undefined,
    );
  }, everyMs);
  return { values, stop: () => clearInterval(timer) };
}

/** Waits until the Deployment's spec.replicas is `n`. */
export function waitForReplicas(rest: KubeRest, ns: string, name: string, n: number, timeoutMs: number) {
  return waitFor(
    `${ns}/${name} at ${n} replicas`,
    async () => ((await deploymentReplicas(rest, ns, name)).spec === n ? true : undefined),
    timeoutMs,
  );
}

let topicChain: Promise<unknown> = Promise.resolve();

/**
 * Creates a topic and waits until its partitions answer. Topics are created one at a time (tests run
 * scenarios concurrently), and when kafkajs's own wait for leaders fails with UNKNOWN_TOPIC_OR_PARTITION
 * although the broker took the request, this waits for the partitions' offsets itself.
 */
export function createTestTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  const run = async () => {
    try {
      await createTopic(admin, topic, partitions);
      return;
    } catch (err) {
      try {
        await waitFor(
          `topic ${topic} to answer`,
          async () => ((await admin.fetchTopicOffsets(topic)).length === partitions ? true : undefined),
          30_000,
          500,
        );
      } catch {
        throw err;
      }
    }
  };
  const next = topicChain.then(run, run);
  topicChain = next.catch(() => undefined);
  return next;
}
