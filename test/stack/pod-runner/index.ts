/**
 * The process pod runner of the local stack (see README.md in this folder).
 *
 * - launchPodRunner: starts main.ts as a detached process (log: `<stateDir>/logs/pod-runner.log`) and
 *   resolves once its Node is Ready.
 * - stopPodRunner: SIGTERM; the runner stops every pod process with its grace period, then exits.
 * - startPodRunnerInProcess: the same runner inside this process (for tests of the runner itself).
 * - runnerEngine: whether a running runner has a container engine (its Node's containerRuntimeVersion).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import { createLogger, type Logger } from "../../../core/log.js";
import { repoRoot } from "../paths.js";
import { isAlive, sleep, spawnDetached, tail } from "../process.js";
import { loadKubeConfig } from "./kube.js";
import { PodRunner } from "./runner.js";

export { PodRunner } from "./runner.js";
export { BUILTIN_IMAGES, IMAGES_ENV, type ImageEntry, type ImageMap } from "./images.js";
import { ENGINE_ENV } from "./engine.js";
export { ENGINE_ENV };

export interface PodRunnerHandle {
  pid: number;
  nodeName: string;
}

export interface LaunchOptions {
  kubeconfig: string;
  stateDir: string;
  nodeName: string;
  progress?: (line: string) => void;
  /** Extra image map files (JSON); LAGSCALE_POD_RUNNER_IMAGES in the environment is read too. */
  imageFiles?: string[];
  kubeletVersion?: string;
  /** The container engine (`podman`, a path, `none`); default LAGSCALE_POD_RUNNER_ENGINE of `env`. */
  engine?: string;
  /** The runner's environment, which its container engine runs with too. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the Node to be Ready (default 60 s). */
  readyTimeoutMs?: number;
}

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts");
const MARK = "pod-runner/main.ts";

const alive = (pid: number): boolean => isAlive(pid, MARK);

/** Ready, and posted by the runner with this pid (a Node left Ready by an earlier runner does not count). */
async function nodeReady(core: CoreV1Api, name: string, pid: number): Promise<boolean> {
  try {
    const node = await core.readNode({ name });
    if (node.status?.nodeInfo?.bootID !== String(pid)) return false;
    return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
  } catch {
    return false;
  }
}

export async function launchPodRunner(opts: LaunchOptions): Promise<PodRunnerHandle> {
  const progress = opts.progress ?? (() => {});
  const logDir = path.join(opts.stateDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, "pod-runner.log");
  const args = [
    "--import",
    "tsx",
    MAIN,
    "--kubeconfig",
    opts.kubeconfig,
    "--state-dir",
    opts.stateDir,
    "--node-name",
    opts.nodeName,
    ...(opts.imageFiles ?? []).flatMap((f) => ["--images", f]),
    ...(opts.kubeletVersion ? ["--kubelet-version", opts.kubeletVersion] : []),
    ...(opts.engine ? ["--engine", opts.engine] : []),
  ];
  const proc = spawnDetached(process.execPath, args, logFile, {
    cwd: repoRoot,
    env: opts.env ?? process.env,
  });
  const pid = proc.pid;
  const exited = (): string | undefined => {
    try {
      const exit = proc.exited();
      return exit && `exited with ${exit.code ?? exit.signal}`;
    } catch (err) {
      return (err as Error).message;
    }
  };
  progress(`starting pod runner (pid ${pid}), log ${logFile}`);
  const core = loadKubeConfig(opts.kubeconfig).makeApiClient(CoreV1Api);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    const exit = exited();
    if (exit)
      throw new Error(
        `the pod runner ${exit} before its node was ready; last lines of ${logFile}:\n${tail(logFile, 15)}`,
      );
    if (await nodeReady(core, opts.nodeName, pid)) return { pid, nodeName: opts.nodeName };
    await sleep(300);
  }
  await stopPodRunner({ pid, nodeName: opts.nodeName }).catch(() => {});
  throw new Error(
    `node ${opts.nodeName} was not Ready within ${(opts.readyTimeoutMs ?? 60_000) / 1000} s; last lines of ${logFile}:\n${tail(logFile, 15)}`,
  );
}

/**
 * SIGTERM to the runner, which stops its pods (each with its grace period, at most 30 s) and exits; SIGKILL
 * to its process group if it is still there after `timeoutMs`. A pid that is no longer the runner is left alone.
 */
export async function stopPodRunner(handle: PodRunnerHandle, timeoutMs = 45_000): Promise<void> {
  if (!alive(handle.pid)) return;
  process.kill(handle.pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(handle.pid)) return;
    await sleep(100);
  }
  try {
    process.kill(-handle.pid, "SIGKILL");
  } catch {
    // already gone
  }
  throw new Error(
    `the pod runner (pid ${handle.pid}) did not stop within ${timeoutMs / 1000} s and was killed`,
  );
}

export interface InProcessRunner {
  runner: PodRunner;
  nodeName: string;
  stop(): Promise<void>;
}

/** The runner in this process: resolves once the Node is registered Ready. */
export async function startPodRunnerInProcess(opts: {
  kubeconfig: string;
  stateDir: string;
  nodeName: string;
  imageFiles?: string[];
  engine?: string;
  log?: Logger;
}): Promise<InProcessRunner> {
  const runner = new PodRunner({ ...opts, log: opts.log ?? createLogger("pod-runner") });
  await runner.start();
  return { runner, nodeName: opts.nodeName, stop: () => runner.stop() };
}

/**
 * The container engine of the runner playing `nodeName` (`podman://4.3.1`), or undefined when it runs every
 * pod as local processes: what its Node reports as containerRuntimeVersion.
 */
export async function runnerEngine(kubeconfig: string, nodeName: string): Promise<string | undefined> {
  const core = loadKubeConfig(kubeconfig).makeApiClient(CoreV1Api);
  const node = await core.readNode({ name: nodeName });
  const runtime = node.status?.nodeInfo?.containerRuntimeVersion ?? "";
  return runtime.startsWith("process://") || runtime === "" ? undefined : runtime;
}

/** The podman command tests use to look at the runner's containers: LAGSCALE_POD_RUNNER_ENGINE, else `podman`. */
export function engineCommand(env: NodeJS.ProcessEnv = process.env): string {
  const v = env[ENGINE_ENV]?.trim();
  return v && v !== "none" ? v : "podman";
}
