/**
 * The local stack as one thing: Kafka, the Kubernetes control plane, the pod runner and the container engine
 * (podman's API socket for testcontainers, the images of this checkout), recorded in `<stateDir>/stack.json` so
 * that `npm test`, `npm run stack` and the demo find the same running stack.
 *
 *   ensureStack()  reuse the recorded stack when it is healthy, else bring one up
 *   up()           the same, for the CLI
 *   down()         stop every part that is recorded (or left over), even when some already died
 *   status()       what runs: pids, the API server's /readyz, Kafka's listener, the pod runner's Node
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { containersStatus, downContainers, upContainers } from "./containers/index.js";
import { destroyKafka, kafkaStatus, startKafka } from "./kafka/index.js";
import {
  controlPlaneStatus,
  ensureBinaries,
  startControlPlane,
  stopControlPlane,
  stopStrayControlPlane,
  type ControlPlaneStatus,
} from "./kube/control-plane.js";
import { acquireLock, isAlive } from "./process.js";
import { cacheDir as defaultCacheDir, stateDir as defaultStateDir } from "./paths.js";
import { launchPodRunner, stopPodRunner } from "./pod-runner/index.js";
import type { ContainersInfo, KafkaInfo, KubeInfo, PodRunnerInfo, StackInfo } from "./types.js";

/** The Node the pod runner registers on the local control plane. */
export const NODE_NAME = "lagscale-node";

export interface StackOptions {
  progress?: (line: string) => void;
  stateDir?: string;
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

interface Resolved {
  progress: (line: string) => void;
  dir: string;
  cache: string;
  env: NodeJS.ProcessEnv;
  stackFile: string;
  startingFile: string;
  lockDir: string;
}

function resolve(opts: StackOptions): Resolved {
  const env = opts.env ?? process.env;
  const dir = opts.stateDir ?? defaultStateDir(env);
  return {
    progress: opts.progress ?? (() => undefined),
    dir,
    cache: opts.cacheDir ?? defaultCacheDir(env),
    env,
    stackFile: path.join(dir, "stack.json"),
    startingFile: path.join(dir, "stack.starting.json"),
    lockDir: path.join(dir, "stack.lock"),
  };
}

/** Parts of a stack, complete (stack.json) or as far as an `up` got (stack.starting.json). */
interface Parts {
  kafka?: KafkaInfo;
  kube?: KubeInfo;
  podRunner?: PodRunnerInfo;
  containers?: ContainersInfo;
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(
      `${file} is not valid JSON (${(err as Error).message}); delete it and stop leftover processes by hand`,
    );
  }
}

/** The recorded stack, checked for the fields everything else relies on. */
export function readStack(opts: StackOptions = {}): StackInfo | undefined {
  const { stackFile } = resolve(opts);
  const raw = readJson(stackFile);
  if (raw === undefined) return undefined;
  const s = raw as Partial<StackInfo>;
  const problems: string[] = [];
  if (typeof s.kubeconfig !== "string") problems.push("kubeconfig");
  if (!Array.isArray(s.bootstrapServers)) problems.push("bootstrapServers");
  if (typeof s.kafka !== "object" || s.kafka === null) problems.push("kafka");
  if (typeof s.kube !== "object" || s.kube === null) problems.push("kube");
  if (problems.length > 0) {
    throw new Error(
      `${stackFile} lacks ${problems.join(", ")}: it was not written by this version; run \`npm run stack -- down\``,
    );
  }
  return s as StackInfo;
}

/**
 * Which engine the pod runner runs pods with: LAGSCALE_POD_RUNNER_ENGINE when set (`none` keeps every pod a
 * process), else podman when the stack's engine is usable and this checkout's images are built (so that no
 * stale image runs), else none.
 */
export function podRunnerEngine(
  env: NodeJS.ProcessEnv,
  containers: ContainersInfo | undefined,
): { engine: string; env: NodeJS.ProcessEnv; note?: string } {
  const named = env.LAGSCALE_POD_RUNNER_ENGINE?.trim();
  const confEnv: NodeJS.ProcessEnv = containers?.service
    ? { ...env, CONTAINERS_CONF: containers.service.containersConf }
    : env;
  if (named) return { engine: named, env: confEnv, note: `engine ${named} (LAGSCALE_POD_RUNNER_ENGINE)` };
  if (!containers?.usable) {
    return {
      engine: "none",
      env,
      note: `pods run as processes: ${containers?.reason ?? "no container engine"}`,
    };
  }
  if (containers.imagesError || !containers.images?.length) {
    return {
      engine: "none",
      env,
      note: `pods run as processes: the images were not built (${containers.imagesError ?? "none built"})`,
    };
  }
  return { engine: "podman", env: confEnv };
}

const seconds = (since: number) => Math.round((Date.now() - since) / 100) / 10;

async function bringUp(r: Resolved): Promise<StackInfo> {
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const timings: Record<string, number> = {};
  const parts: Parts = {};
  await mkdir(r.dir, { recursive: true });
  const save = () => writeFile(r.startingFile, JSON.stringify({ startedAt, dir: r.dir, ...parts }, null, 2));
  const tagged = (tag: string) => (line: string) => r.progress(`[${tag}] ${line}`);
  await stopStrayControlPlane(r.dir, tagged("kube"));

  const kafka = (async () => {
    const t = Date.now();
    parts.kafka = await startKafka({
      stateDir: r.dir,
      cacheDir: r.cache,
      progress: tagged("kafka"),
      sasl: true,
    });
    timings.kafka = seconds(t);
    await save();
    tagged("kafka")(`ready in ${timings.kafka} s: ${parts.kafka.bootstrapServers.join(",")}`);
  })();

  const containers = (async () => {
    const t = Date.now();
    parts.containers = await upContainers({
      stateDir: r.dir,
      cacheDir: r.cache,
      env: r.env,
      progress: tagged("containers"),
      onService: async (c) => {
        parts.containers = c;
        await save();
      },
    });
    timings.containers = seconds(t);
    await save();
  })();

  const kube = (async () => {
    const local = !r.env.LAGSCALE_TEST_KUBECONFIG?.trim();
    if (local) {
      const t = Date.now();
      const { built } = await ensureBinaries(r.cache, tagged("kube"));
      if (built) timings.kubeBuild = seconds(t);
    }
    let t = Date.now();
    parts.kube = await startControlPlane({
      stateDir: r.dir,
      cacheDir: r.cache,
      progress: tagged("kube"),
      env: r.env,
    });
    timings.kube = seconds(t);
    await save();
    tagged("kube")(`ready in ${timings.kube} s: ${parts.kube.server}`);
    if (parts.kube.kind !== "local") return;
    await linkKubectl(r.dir, parts.kube);
    // the runner runs pods from the images of this checkout once they are built (docs/local-stack.md)
    await containers.catch(() => undefined);
    const engine = podRunnerEngine(r.env, parts.containers);
    if (engine.note) tagged("pod-runner")(engine.note);
    t = Date.now();
    const runner = await launchPodRunner({
      kubeconfig: parts.kube.kubeconfig,
      stateDir: r.dir,
      nodeName: NODE_NAME,
      progress: tagged("pod-runner"),
      engine: engine.engine,
      env: engine.env,
    });
    parts.podRunner = { pid: runner.pid, nodeName: runner.nodeName };
    parts.kube.nodeName = runner.nodeName;
    timings.podRunner = seconds(t);
    await save();
    tagged("pod-runner")(`node ${runner.nodeName} up in ${timings.podRunner} s (pid ${runner.pid})`);
  })();

  const results = await Promise.allSettled([kafka, kube, containers]);
  const failures = results.flatMap((res) => (res.status === "rejected" ? [res.reason as unknown] : []));
  if (failures.length > 0) {
    r.progress("bringing the stack up failed; stopping the parts that did start");
    const teardownErrors = await teardown(parts, r);
    await rm(r.startingFile, { force: true });
    const messages = [...failures, ...teardownErrors].map((e) =>
      e instanceof Error ? e.message : String(e),
    );
    throw new Error(`the local stack did not come up:\n- ${messages.join("\n- ")}`);
  }
  if (!parts.kafka || !parts.kube)
    throw new Error("internal: a stack part finished without describing itself");
  timings.total = seconds(t0);
  const info: StackInfo = {
    startedAt,
    dir: r.dir,
    kubeconfig: parts.kube.kubeconfig,
    bootstrapServers: parts.kafka.bootstrapServers,
    kafka: parts.kafka,
    kube: parts.kube,
    ...(parts.podRunner ? { podRunner: parts.podRunner } : {}),
    ...(parts.containers ? { containers: parts.containers } : {}),
    timings,
  };
  await writeStack(r, info);
  await rm(r.startingFile, { force: true });
  return info;
}

async function writeStack(r: Resolved, info: StackInfo): Promise<void> {
  const tmp = `${r.stackFile}.tmp`;
  await writeFile(tmp, JSON.stringify(info, null, 2) + "\n");
  await rename(tmp, r.stackFile);
}

/**
 * The container part of a reused stack: images rebuilt when this checkout changed them (a no-op otherwise), the
 * API service restarted if it died, added to a stack recorded before there was one.
 */
async function refreshContainers(r: Resolved, info: StackInfo): Promise<StackInfo> {
  const t = Date.now();
  const containers = await upContainers({
    stateDir: r.dir,
    cacheDir: r.cache,
    env: r.env,
    progress: (line) => r.progress(`[containers] ${line}`),
    ...(info.containers ? { previous: info.containers } : {}),
    onService: async (c) => writeStack(r, { ...info, containers: c }),
  });
  const next: StackInfo = { ...info, containers, timings: { ...info.timings, containers: seconds(t) } };
  await writeStack(r, next);
  return next;
}

/** Stops each recorded part, pod runner first; returns the errors instead of stopping at the first. */
async function teardown(parts: Parts, r: Resolved): Promise<unknown[]> {
  const errors: unknown[] = [];
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      r.progress(`stopping ${what}`);
      await fn();
    } catch (err) {
      errors.push(new Error(`stopping ${what}: ${(err as Error).message}`));
    }
  };
  if (parts.podRunner) {
    const runner = parts.podRunner;
    await step(`the pod runner (pid ${runner.pid})`, () => stopPodRunner(runner));
  }
  const stops: Promise<void>[] = [];
  if (parts.containers?.service) {
    const containers = parts.containers;
    stops.push(step("podman's API service", () => downContainers(containers, r.progress)));
  }
  if (parts.kube) {
    const kube = parts.kube;
    stops.push(step(`the control plane (${kube.kind})`, () => stopControlPlane(kube)));
  }
  if (parts.kafka) {
    const kafka = parts.kafka;
    stops.push(step(`Kafka (${kafka.kind})`, () => destroyKafka(kafka)));
  }
  await Promise.all(stops);
  try {
    await stopStrayControlPlane(r.dir, r.progress);
  } catch (err) {
    errors.push(new Error(`stopping leftover control-plane processes: ${(err as Error).message}`));
  }
  return errors;
}

function tcpReachable(hostPort: string, timeoutMs = 2_000): Promise<string> {
  const i = hostPort.lastIndexOf(":");
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(hostPort.slice(i + 1));
  return new Promise((done) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      done("ok");
    });
    socket.once("timeout", () => {
      socket.destroy();
      done(`no answer in ${timeoutMs} ms`);
    });
    socket.once("error", (err) => done(err.message));
  });
}

export interface StackStatus {
  /** False when no stack.json is recorded. */
  recorded: boolean;
  healthy: boolean;
  info?: StackInfo;
  kafka?: { state: "running" | "stopped"; reachable: string };
  kube?: ControlPlaneStatus;
  podRunner?: { alive: boolean; node: string };
  /** "ok", or what is wrong with the container engine's API service (not part of `healthy`: a reuse restarts it). */
  containers?: string;
  /** Parts of an `up` that never finished (stack.starting.json). */
  unfinished?: string[];
}

async function nodeState(kubeconfig: string, name: string): Promise<string> {
  try {
    const { CoreV1Api, KubeConfig } = await import("@kubernetes/client-node");
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const node = await kc.makeApiClient(CoreV1Api).readNode({ name });
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    return ready ? `Ready=${ready.status}` : "registered, no Ready condition yet";
  } catch (err) {
    return `not found (${(err as Error).message.split("\n")[0] ?? ""})`;
  }
}

async function statusOf(info: StackInfo): Promise<StackStatus> {
  const [state, reachable, kube, node, containers] = await Promise.all([
    kafkaStatus(info.kafka).catch(() => "stopped" as const),
    info.bootstrapServers[0]
      ? tcpReachable(info.bootstrapServers[0])
      : Promise.resolve("no bootstrap server recorded"),
    controlPlaneStatus(info.kube),
    info.podRunner ? nodeState(info.kubeconfig, info.podRunner.nodeName) : Promise.resolve(""),
    info.containers ? containersStatus(info.containers) : Promise.resolve(undefined),
  ]);
  const podRunner = info.podRunner ? { alive: isAlive(info.podRunner.pid, "pod-runner"), node } : undefined;
  const healthy = state === "running" && reachable === "ok" && kube.healthy && (podRunner?.alive ?? true);
  return {
    recorded: true,
    healthy,
    info,
    kafka: { state, reachable },
    kube,
    ...(podRunner ? { podRunner } : {}),
    ...(containers !== undefined ? { containers } : {}),
  };
}

/** What the recorded stack runs. */
export async function status(opts: StackOptions = {}): Promise<StackStatus> {
  const r = resolve(opts);
  const info = readStack(opts);
  const starting = readJson(r.startingFile) as Parts | undefined;
  const unfinished = starting
    ? (["kafka", "kube", "podRunner", "containers"] as const).filter((k) => starting[k] !== undefined)
    : undefined;
  if (!info) return { recorded: false, healthy: false, ...(unfinished ? { unfinished } : {}) };
  return { ...(await statusOf(info)), ...(unfinished ? { unfinished } : {}) };
}

export interface EnsuredStack {
  info: StackInfo;
  startedHere: boolean;
  down(): Promise<void>;
}

/** The running stack of this state folder if it is healthy, else a new one. One caller at a time brings it up. */
export async function ensureStack(opts: StackOptions = {}): Promise<EnsuredStack> {
  const r = resolve(opts);
  await mkdir(r.dir, { recursive: true });
  const release = await acquireLock(
    r.lockDir,
    r.progress,
    "another process is bringing the stack up or down",
  );
  try {
    const existing = readStack(opts);
    const mismatch = existing ? envMismatch(existing, r.env) : undefined;
    if (existing && mismatch) {
      r.progress(`the stack in ${r.stackFile} does not match the environment (${mismatch}); replacing it`);
    } else if (existing) {
      const st = await statusOf(existing);
      if (st.healthy) {
        r.progress(`reusing the running stack from ${r.stackFile}`);
        const info = await refreshContainers(r, existing);
        return { info, startedHere: false, down: () => down(opts) };
      }
      r.progress(`the stack in ${r.stackFile} is not healthy (${describeProblems(st)}); replacing it`);
    }
    await downLocked(r);
    const info = await bringUp(r);
    return { info, startedHere: true, down: () => down(opts) };
  } finally {
    release();
  }
}

/** Why a recorded stack is not the one the environment asks for (KAFKA_BOOTSTRAP_SERVERS, LAGSCALE_TEST_KUBECONFIG). */
function envMismatch(info: StackInfo, env: NodeJS.ProcessEnv): string | undefined {
  const kafka = env.KAFKA_BOOTSTRAP_SERVERS?.trim();
  if (
    kafka &&
    (info.kafka.kind !== "external" || info.bootstrapServers.join(",") !== kafka.replace(/\s+/g, ""))
  ) {
    return `KAFKA_BOOTSTRAP_SERVERS=${kafka} but the stack runs ${info.kafka.kind} Kafka`;
  }
  if (!kafka && info.kafka.kind === "external") return "KAFKA_BOOTSTRAP_SERVERS is no longer set";
  const kube = env.LAGSCALE_TEST_KUBECONFIG?.trim();
  if (kube && (info.kube.kind !== "external" || info.kube.kubeconfig !== path.resolve(kube))) {
    return `LAGSCALE_TEST_KUBECONFIG=${kube} but the stack runs a ${info.kube.kind} control plane`;
  }
  if (!kube && info.kube.kind === "external") return "LAGSCALE_TEST_KUBECONFIG is no longer set";
  return undefined;
}

/** Brings the stack up, or reuses the healthy one that runs. */
export async function up(opts: StackOptions = {}): Promise<EnsuredStack> {
  return ensureStack(opts);
}

async function downLocked(r: Resolved): Promise<string[]> {
  const recorded = (readJson(r.stackFile) as Parts | undefined) ?? {};
  const starting = (readJson(r.startingFile) as Parts | undefined) ?? {};
  const errors = [...(await teardown(recorded, r))];
  // An interrupted `up` may have recorded other processes than the finished stack.
  if (starting.kafka || starting.kube || starting.podRunner || starting.containers)
    errors.push(...(await teardown(starting, r)));
  await rm(r.stackFile, { force: true });
  await rm(r.startingFile, { force: true });
  return errors.map((e) => (e instanceof Error ? e.message : String(e)));
}

/** Stops every part of the recorded stack (and leftovers of an interrupted `up`); dead parts are skipped. */
export async function down(opts: StackOptions = {}): Promise<void> {
  const r = resolve(opts);
  if (!existsSync(r.dir)) return;
  const release = await acquireLock(
    r.lockDir,
    r.progress,
    "another process is bringing the stack up or down",
  );
  try {
    const errors = await downLocked(r);
    if (errors.length > 0) throw new Error(`some parts did not stop cleanly:\n- ${errors.join("\n- ")}`);
  } finally {
    release();
  }
}

export function describeProblems(st: StackStatus): string {
  const problems: string[] = [];
  if (st.kafka && st.kafka.state !== "running") problems.push(`kafka ${st.kafka.state}`);
  if (st.kafka && st.kafka.reachable !== "ok") problems.push(`kafka unreachable: ${st.kafka.reachable}`);
  if (st.kube) {
    for (const [name, alive] of Object.entries(st.kube.processes))
      if (!alive) problems.push(`${name} not running`);
    if (st.kube.readyz !== "ok") problems.push(`API /readyz: ${st.kube.readyz}`);
  }
  if (st.podRunner && !st.podRunner.alive) problems.push("pod runner not running");
  return problems.join("; ") || "none";
}

/**
 * `<state dir>/bin/kubectl`: the kubectl built with the control plane, at a stable path for people and docs
 * (a kubectl on PATH may be older than this API server).
 */
async function linkKubectl(dir: string, kube: KubeInfo): Promise<void> {
  const binDir = (kube.handle as { binDir?: string }).binDir;
  if (!binDir) return;
  const link = path.join(dir, "bin", "kubectl");
  await mkdir(path.dirname(link), { recursive: true });
  await rm(link, { force: true });
  await symlink(path.join(binDir, "kubectl"), link);
}
