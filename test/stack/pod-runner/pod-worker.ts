/**
 * One pod on the runner's node, from binding to deletion: volumes and tokens, init containers in order,
 * native sidecars for the pod's life, main containers with restarts per restartPolicy, probes, and the
 * status the kubelet would report. A container whose image is in the container engine runs from it
 * (engine.ts); any other runs as a local process from the image map (images.ts).
 */
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type V1Container,
  type V1Pod,
} from "@kubernetes/client-node";
import type { Logger } from "../../../core/log.js";
import { withDnsHook } from "./dns-hook-build.js";
import { ContainerConfigError, expandCommand, resolveEnv, type EnvLookups, type PodFacts } from "./env.js";
import { containerCommand, findImage, imageLookupNames, type ImageMap, type Placeholders } from "./images.js";
import type { PodmanEngine } from "./engine.js";
import {
  containerLabels,
  containerMounts,
  containerName,
  podmanRun,
  type ImageConfig,
  type RunPlan,
} from "./podman-args.js";
import { sleep } from "../process.js";
import { inClusterKubeconfig } from "./in-cluster.js";
import { apiStatus, describeError } from "./kube.js";
import { translateArg, translatePath } from "./mount-paths.js";
import { ProbeLoop, type ProbeContext } from "./probes.js";
import { startProcess, type ContainerProcess } from "./process.js";
import {
  BACKOFF_RESET_AFTER_MS,
  buildPodStatus,
  computePhase,
  podReady,
  restartBackoffMs,
  restartPolicyOf,
  shouldRestart,
  shouldRestartInit,
  type ContainerRuntime,
  type PodRuntime,
} from "./status.js";
import {
  materializeVolumes,
  mountFolders,
  volumeEnv,
  writeToken,
  type MaterializedVolumes,
} from "./volumes.js";

export interface WorkerDeps {
  api: CoreV1Api;
  log: Logger;
  nodeName: string;
  hostIP: string;
  stateDir: string;
  images: () => ImageMap;
  placeholders: Placeholders;
  /** KUBERNETES_SERVICE_HOST and friends, plus PATH/HOME for the processes. */
  baseEnv: Record<string, string>;
  /** KUBERNETES_SERVICE_HOST and friends alone, for containers run from their images. */
  clusterEnv: Record<string, string>;
  /** The container engine, when there is one, and this runner's id for its containers' names. */
  engine?: PodmanEngine;
  runnerId: string;
  caPem: string;
  lookups: EnvLookups;
  /** Called once when no process of the pod can run any more (its IP may be reused later). */
  onIdle: () => void;
  /** The API server's URL, for the in-cluster kubeconfig. */
  apiServer: string;
  /** Service names for Node programs: the hook for NODE_OPTIONS and the name table it reads. */
  serviceNames?: { hookUrl: string; tableFile: string };
  /** Called when the pod's readiness or its processes change (the Service proxy follows them). */
  onChange?: () => void;
}

const RETRY_MS = 3_000;

/** How one container runs: a local process from the image map, or its image through the engine. */
type Launch =
  | { kind: "process"; argv: string[]; cwd: string; env: Record<string, string> }
  | {
      kind: "container";
      name: string;
      plan: RunPlan;
      image: ImageConfig;
      files: { envFile: string; cidFile: string };
    };
const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

interface Slot {
  spec: V1Container;
  rt: ContainerRuntime;
  kind: "init" | "sidecar" | "main";
  proc?: ContainerProcess;
  probes: ProbeLoop[];
  /** Set while the runner itself is stopping this container (liveness failure or pod termination). */
  stopping?: Promise<unknown>;
}

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly podDir: string;
  pod: V1Pod;
  private readonly rt: PodRuntime;
  private readonly init: Slot[];
  private readonly main: Slot[];
  private readonly abort = new AbortController();
  private terminating = false;
  private idle = false;
  private vols: MaterializedVolumes = { dirs: {}, tokens: [] };
  private tokenTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private dirty = false;
  private syncing: Promise<void> | undefined;
  private gone = false;
  private readonly log: Logger;

  constructor(
    pod: V1Pod,
    readonly ip: string,
    private readonly deps: WorkerDeps,
  ) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? "";
    this.namespace = pod.metadata?.namespace ?? "default";
    this.name = pod.metadata?.name ?? "";
    this.podDir = path.join(deps.stateDir, "pods", this.namespace, this.name);
    this.log = deps.log.child({ pod: `${this.namespace}/${this.name}`, uid: this.uid, podIP: ip });
    // After a runner restart, carry on counting restarts from what the pod already reported.
    const before = new Map(
      [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [
        s.name,
        s,
      ]),
    );
    const slot = (spec: V1Container, kind: Slot["kind"]): Slot => {
      const prev = before.get(spec.name);
      const ranBefore = prev?.state?.running !== undefined || prev?.state?.terminated !== undefined;
      return {
        spec,
        kind,
        probes: [],
        rt: {
          name: spec.name,
          image: spec.image ?? "",
          sidecar: kind === "sidecar",
          state: {
            kind: "waiting",
            reason:
              kind === "main" && pod.spec?.initContainers?.length ? "PodInitializing" : "ContainerCreating",
          },
          restartCount: (prev?.restartCount ?? 0) + (ranBefore ? 1 : 0),
          ready: false,
        },
      };
    };
    this.init = (pod.spec?.initContainers ?? []).map((c) =>
      slot(c, c.restartPolicy === "Always" ? "sidecar" : "init"),
    );
    this.main = (pod.spec?.containers ?? []).map((c) => slot(c, "main"));
    this.rt = {
      restartPolicy: restartPolicyOf(pod),
      init: this.init.map((s) => s.rt),
      main: this.main.map((s) => s.rt),
      finished: false,
      podIP: ip,
      hostIP: deps.hostIP,
    };
  }

  get phase(): string {
    return computePhase(this.rt);
  }

  /** The pod's Ready condition as last computed; false once it is being stopped. */
  get ready(): boolean {
    return !this.terminating && podReady(this.rt);
  }

  start(): void {
    this.running = this.run().catch((err: unknown) => {
      this.log.error({ err: describeError(err) }, "pod worker failed");
    });
  }

  /** Keeps the newest object (for downward API values of later container starts). */
  update(pod: V1Pod): void {
    this.pod = pod;
  }

  private get facts(): PodFacts {
    return { podIP: this.ip, hostIP: this.deps.hostIP, nodeName: this.deps.nodeName };
  }

  private get graceMs(): number {
    return (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  private async run(): Promise<void> {
    this.rt.startTime = new Date();
    await mkdir(this.podDir, { recursive: true });
    this.sync();
    this.log.info(
      { containers: this.main.map((s) => s.spec.name), init: this.init.map((s) => s.spec.name) },
      "starting pod",
    );

    // Volumes and tokens first; a missing ConfigMap/Secret keeps the pod in ContainerCreating, as with the kubelet.
    while (!this.terminating) {
      try {
        this.vols = await materializeVolumes(this.pod, this.podDir, this.facts, {
          api: this.deps.api,
          lookups: this.deps.lookups,
          caPem: this.deps.caPem,
        });
        this.scheduleTokenRefresh();
        break;
      } catch (err) {
        const message = `volumes: ${describeError(err)}`;
        this.log.warn({ err: message }, "cannot prepare volumes yet; retrying");
        for (const s of [...this.init, ...this.main])
          s.rt.state = { kind: "waiting", reason: "ContainerCreating", message };
        this.sync();
        await sleep(RETRY_MS, this.abort.signal);
      }
    }

    for (const slot of this.init) {
      if (this.terminating) return;
      if (slot.kind === "sidecar") {
        void this.supervise(slot, () => true);
        while (!this.terminating && slot.rt.state.kind !== "running") await sleep(100, this.abort.signal);
        continue;
      }
      const ok = await this.runToCompletion(slot);
      if (!ok) {
        if (this.terminating) return;
        this.log.warn(
          { container: slot.spec.name },
          "init container failed under restartPolicy Never: pod failed",
        );
        await this.finish();
        return;
      }
    }
    if (this.terminating) return;
    for (const s of this.main) s.rt.state = { kind: "waiting", reason: "ContainerCreating" };
    const policy = this.rt.restartPolicy;
    await Promise.all(this.main.map((slot) => this.supervise(slot, (code) => shouldRestart(policy, code))));
    if (this.terminating) return;
    await this.finish();
  }

  /** Main containers are done for good: stop the sidecars (last started, first stopped), then terminal phase. */
  private async finish(): Promise<void> {
    const sidecars = this.init.filter((s) => s.kind === "sidecar").reverse();
    this.terminating = true;
    this.abort.abort();
    for (const s of sidecars) await this.stopSlot(s, this.graceMs);
    this.rt.finished = true;
    this.log.info({ phase: computePhase(this.rt) }, "pod finished");
    this.sync();
    this.becomeIdle();
  }

  private becomeIdle(): void {
    if (this.idle) return;
    this.idle = true;
    clearTimeout(this.tokenTimer);
    this.deps.onIdle();
  }

  /** A regular init container: run until it exits 0; false when it failed for good. */
  private async runToCompletion(slot: Slot): Promise<boolean> {
    let failures = 0;
    while (!this.terminating) {
      const started = Date.now();
      const code = await this.runOnce(slot);
      if (code === undefined) return false;
      if (code === 0) return true;
      if (!shouldRestartInit(this.rt.restartPolicy, code)) return false;
      failures = Date.now() - started > BACKOFF_RESET_AFTER_MS ? 1 : failures + 1;
      await this.backOff(slot, failures);
    }
    return false;
  }

  /** Runs a container again and again while `again(exitCode)` says so. */
  private async supervise(slot: Slot, again: (code: number) => boolean): Promise<void> {
    let failures = 0;
    while (!this.terminating) {
      const started = Date.now();
      const code = await this.runOnce(slot);
      if (code === undefined || this.terminating || !again(code)) return;
      failures = Date.now() - started > BACKOFF_RESET_AFTER_MS ? 1 : failures + 1;
      await this.backOff(slot, failures);
    }
  }

  private async backOff(slot: Slot, failures: number): Promise<void> {
    const ms = restartBackoffMs(failures);
    const last = slot.rt.state;
    if (last.kind === "terminated") slot.rt.lastTerminated = last;
    slot.rt.state = {
      kind: "waiting",
      reason: "CrashLoopBackOff",
      message: `back-off ${ms / 1000}s restarting failed container=${slot.spec.name} pod=${this.name}`,
    };
    this.sync();
    await sleep(ms, this.abort.signal);
  }

  /** Resolves image, env and command, then runs the process once. Exit code, or undefined when stopped first. */
  private async runOnce(slot: Slot): Promise<number | undefined> {
    const c = slot.spec;
    let launch: Launch | undefined;
    while (!this.terminating && !launch) {
      try {
        launch = await this.prepare(c);
      } catch (err) {
        const unknownImage = err instanceof UnknownImageError;
        const reason = unknownImage
          ? "ErrImagePull"
          : err instanceof ContainerConfigError
            ? "CreateContainerConfigError"
            : "RunContainerError";
        const message = describeError(err);
        if (slot.rt.state.kind !== "waiting" || slot.rt.state.message !== message) {
          this.log.warn({ container: c.name, reason, err: message }, "cannot start container yet; retrying");
        }
        if (slot.rt.state.kind === "terminated") slot.rt.lastTerminated = slot.rt.state;
        slot.rt.state = { kind: "waiting", reason, message };
        this.sync();
        await sleep(RETRY_MS, this.abort.signal);
      }
    }
    if (!launch || this.terminating) return undefined;

    if (slot.rt.state.kind === "terminated") slot.rt.lastTerminated = slot.rt.state;
    if (slot.rt.lastTerminated || slot.proc) slot.rt.restartCount++;
    const logFile = path.join(this.podDir, `${c.name}.log`);
    const engine = this.deps.engine;
    let proc: ContainerProcess;
    if (launch.kind === "container" && engine) {
      proc = await engine.run(launch.plan, { name: launch.name, logFile, ...launch.files });
      slot.rt.imageID = `sha256:${launch.image.id}`;
    } else if (launch.kind === "process") {
      proc = startProcess({ argv: launch.argv, cwd: launch.cwd, env: launch.env, logFile });
      delete slot.rt.imageID;
    } else {
      throw new Error("internal: a container launch without an engine");
    }
    slot.proc = proc;
    slot.rt.containerID = proc.containerID;
    slot.rt.state = { kind: "running", startedAt: proc.startedAt };
    slot.rt.ready = !c.readinessProbe;
    const argv = launch.kind === "process" ? launch.argv : launch.plan.argv;
    this.log.info(
      { container: c.name, pid: proc.pid, containerID: proc.containerID, argv, from: launch.kind },
      "container started",
    );
    this.startProbes(slot, launch);
    this.sync();

    const exit = await proc.exited;
    for (const p of slot.probes) p.stop();
    slot.probes = [];
    slot.rt.ready = false;
    slot.rt.state = {
      kind: "terminated",
      exitCode: exit.exitCode,
      ...(exit.signal !== undefined ? { signal: exit.signal } : {}),
      reason: exit.reason,
      ...(exit.message ? { message: exit.message } : {}),
      startedAt: proc.startedAt,
      finishedAt: exit.finishedAt,
    };
    this.log.info(
      { container: c.name, pid: proc.pid, exitCode: exit.exitCode, reason: exit.reason },
      "container exited",
    );
    this.sync();
    if (slot.stopping) await slot.stopping;
    return exit.exitCode;
  }

  private async prepare(c: V1Container): Promise<Launch> {
    const image = c.image ?? "";
    const config = await this.deps.engine?.imageConfig(image);
    if (config) return this.prepareContainer(c, image, config);
    const entry = findImage(this.deps.images(), image);
    if (!entry) throw new UnknownImageError(image);
    const base: Record<string, string> = {
      ...this.deps.baseEnv,
      HOSTNAME: this.pod.spec?.hostname || this.name,
    };
    const mounts = mountFolders(c, this.vols);
    const env = await resolveEnv(this.pod, c, this.facts, this.deps.lookups, base);
    // The pod's own values may name mountPaths; the runner's (PATH, HOME...) are host paths already.
    for (const [k, v] of Object.entries(env)) if (base[k] !== v) env[k] = translatePath(v, mounts);
    const expanded = expandCommand(c, env);
    const cmd = containerCommand(
      image,
      entry,
      {
        ...(expanded.command ? { command: expanded.command.map((a) => translateArg(a, mounts)) } : {}),
        ...(expanded.args ? { args: expanded.args.map((a) => translateArg(a, mounts)) } : {}),
      },
      this.deps.placeholders,
    );
    const volEnv = volumeEnv(c, this.vols);
    const extra: Record<string, string> = { LAGSCALE_POD_IP: this.ip };
    const saDir = volEnv.LAGSCALE_SERVICEACCOUNT_DIR;
    if (env.KUBECONFIG === undefined && cmd.imageEnv.KUBECONFIG === undefined && saDir) {
      extra.KUBECONFIG = await this.writeKubeconfig(c.name, saDir);
    }
    const names = this.deps.serviceNames;
    if (names) {
      extra.NODE_OPTIONS = withDnsHook(env.NODE_OPTIONS ?? cmd.imageEnv.NODE_OPTIONS, names.hookUrl);
      extra.LAGSCALE_SERVICE_NAMES = names.tableFile;
      extra.LAGSCALE_POD_NAMESPACE = this.namespace;
    }
    return {
      kind: "process",
      argv: cmd.argv,
      cwd: cmd.workingDir,
      env: { ...cmd.imageEnv, ...env, ...volEnv, ...extra },
    };
  }

  /**
   * A container from its image: the pod's env as Kubernetes resolves it (no host PATH or HOME: the image has
   * its own), its volumes bind-mounted at their mountPaths (so no path is rewritten and no KUBECONFIG is
   * needed: the service-account folder is where in-cluster clients look), and the Service-name hook with
   * its table mounted read-only at their own paths.
   */
  private async prepareContainer(c: V1Container, image: string, config: ImageConfig): Promise<Launch> {
    const base: Record<string, string> = {
      ...this.deps.clusterEnv,
      HOSTNAME: this.pod.spec?.hostname || this.name,
    };
    const env = await resolveEnv(this.pod, c, this.facts, this.deps.lookups, base);
    const expanded = expandCommand(c, env);
    env.LAGSCALE_POD_IP = this.ip;
    const mounts = containerMounts(this.pod, c, this.vols);
    const names = this.deps.serviceNames;
    if (names) {
      env.NODE_OPTIONS = withDnsHook(env.NODE_OPTIONS ?? config.env.NODE_OPTIONS, names.hookUrl);
      env.LAGSCALE_SERVICE_NAMES = names.tableFile;
      env.LAGSCALE_POD_NAMESPACE = this.namespace;
      // the folder, not the files: the table is replaced (renamed over) on every change
      const dir = path.dirname(names.tableFile);
      mounts.push({ source: dir, target: dir, readOnly: true });
    }
    // a subPath the volume does not have yet is made, as the kubelet does
    for (const m of mounts) if (!existsSync(m.source)) await mkdir(m.source, { recursive: true });
    const ref = { namespace: this.namespace, name: this.name, uid: this.uid };
    const name = containerName(this.deps.runnerId, ref, c.name);
    const files = {
      envFile: path.join(this.podDir, "run", `${c.name}.env`),
      cidFile: path.join(this.podDir, "run", `${c.name}.cid`),
    };
    const plan = podmanRun({
      name,
      labels: containerLabels(this.deps.runnerId, ref, c.name),
      image,
      imageConfig: config,
      pod: this.pod,
      container: { ...c, ...expanded },
      hostname: base.HOSTNAME!,
      env,
      mounts,
      ...files,
    });
    if (plan.notes.length > 0) this.log.info({ container: c.name, notes: plan.notes }, "not applied");
    return { kind: "container", name, plan, image: config, files };
  }

  /** The in-cluster kubeconfig for one container (see in-cluster.ts); returns its path. */
  private async writeKubeconfig(container: string, serviceAccountDir: string): Promise<string> {
    const file = path.join(this.podDir, "kubeconfig", `${container}.yaml`);
    await mkdir(path.dirname(file), { recursive: true });
    const text = inClusterKubeconfig({
      server: this.deps.apiServer,
      serviceAccountDir,
      namespace: this.namespace,
    });
    await writeFile(file, text, { mode: 0o600 });
    return file;
  }

  private startProbes(slot: Slot, launch: Launch): void {
    const ports = slot.spec.ports ?? [];
    const engine = this.deps.engine;
    const ctx: ProbeContext =
      launch.kind === "process"
        ? { podIP: this.ip, ports, env: launch.env, cwd: launch.cwd }
        : {
            podIP: this.ip,
            ports,
            env: engine?.env ?? process.env,
            cwd: this.podDir,
            ...(engine ? { execPrefix: engine.execPrefix(launch.name) } : {}),
          };
    const readiness = slot.spec.readinessProbe;
    if (readiness) {
      const loop = new ProbeLoop(readiness, ctx, false, (ok, message) => {
        slot.rt.ready = ok;
        this.log.info({ container: slot.spec.name, ready: ok, message }, "readiness changed");
        this.sync();
      });
      slot.probes.push(loop);
      loop.start();
    }
    const liveness = slot.spec.livenessProbe;
    if (liveness) {
      const loop = new ProbeLoop(liveness, ctx, true, (ok, message) => {
        if (ok || !slot.proc) return;
        this.log.warn({ container: slot.spec.name, message }, "liveness probe failed: restarting container");
        const proc = slot.proc;
        slot.stopping = proc.stop(this.graceMs).finally(() => (slot.stopping = undefined));
      });
      slot.probes.push(loop);
      loop.start();
    }
  }

  private async stopSlot(slot: Slot, graceMs: number): Promise<void> {
    for (const p of slot.probes) p.stop();
    const proc = slot.proc;
    if (!proc || !proc.alive()) return;
    this.log.info(
      { container: slot.spec.name, pid: proc.pid, containerID: proc.containerID, graceMs },
      "stopping container",
    );
    await proc.stop(graceMs);
  }

  /**
   * Deletion: SIGTERM to every container (main containers first, then sidecars in reverse order), SIGKILL
   * what is left after the grace period, report the final status (unless `report` is false: the runner is
   * stopping, not the pod). Resolves when no process is left.
   */
  async terminate(graceSeconds: number, opts: { report?: boolean } = {}): Promise<void> {
    const report = opts.report ?? true;
    const deadline = Date.now() + Math.max(0, graceSeconds) * 1000;
    const wasFinished = this.rt.finished;
    this.terminating = true;
    this.abort.abort();
    await Promise.all(this.main.map((s) => this.stopSlot(s, deadline - Date.now())));
    for (const s of [...this.init].reverse()) await this.stopSlot(s, Math.max(0, deadline - Date.now()));
    await this.running;
    if (!report) {
      // The runner itself is stopping: like a kubelet going down, leave the pod's status as it was.
      this.gone = true;
    } else if (!wasFinished) {
      // What the kubelet reports for a pod stopped by deletion: terminal, by how the main containers ended.
      for (const s of [...this.init, ...this.main]) {
        if (s.rt.state.kind === "waiting" && s.rt.lastTerminated) s.rt.state = s.rt.lastTerminated;
      }
      this.rt.finished = true;
      this.sync();
    }
    this.becomeIdle();
    await this.flushed();
  }

  /** Removes the pod's volumes (tokens) and container run files; its logs stay. */
  async cleanup(): Promise<void> {
    clearTimeout(this.tokenTimer);
    await rm(path.join(this.podDir, "volumes"), { recursive: true, force: true });
    await rm(path.join(this.podDir, "run"), { recursive: true, force: true });
  }

  /** The pod object is gone: no more status updates. */
  markGone(): void {
    this.gone = true;
  }

  private scheduleTokenRefresh(): void {
    clearTimeout(this.tokenTimer);
    if (this.vols.tokens.length === 0) return;
    // The kubelet refreshes at 80 % of a token's life.
    const shortest = Math.min(...this.vols.tokens.map((t) => t.expirationSeconds));
    this.tokenTimer = setTimeout(() => void this.refreshTokens(), shortest * 800);
    this.tokenTimer.unref();
  }

  private async refreshTokens(): Promise<void> {
    if (this.idle) return;
    const deps = { api: this.deps.api, lookups: this.deps.lookups, caPem: this.deps.caPem };
    for (const t of this.vols.tokens) {
      try {
        await writeToken(deps, this.pod, t);
      } catch (err) {
        this.log.warn({ err: describeError(err), file: t.file }, "token refresh failed; retrying in 30 s");
        this.tokenTimer = setTimeout(() => void this.refreshTokens(), 30_000);
        this.tokenTimer.unref();
        return;
      }
    }
    this.scheduleTokenRefresh();
  }

  /** Asks for a status update; updates coalesce, one in flight at a time. */
  sync(): void {
    this.deps.onChange?.();
    this.dirty = true;
    if (!this.syncing) this.syncing = this.flush().finally(() => (this.syncing = undefined));
  }

  async flushed(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  private async flush(): Promise<void> {
    let failures = 0;
    while (this.dirty && !this.gone) {
      this.dirty = false;
      const status = buildPodStatus(this.rt, this.pod.status?.conditions, new Date());
      this.log.debug(
        { phase: status.phase, finished: this.rt.finished, terminating: this.terminating },
        "status update",
      );
      try {
        const updated = await this.deps.api.patchNamespacedPodStatus(
          { name: this.name, namespace: this.namespace, body: { metadata: { uid: this.uid }, status } },
          MERGE_PATCH,
        );
        if (updated.metadata?.uid === this.uid) this.pod = updated;
        failures = 0;
      } catch (err) {
        const code = apiStatus(err);
        if (code === 404 || code === 422) {
          // 404: deleted; 422: the name now belongs to another pod (uid differs)
          this.gone = true;
          return;
        }
        failures++;
        this.log.warn({ err: describeError(err), code }, "status update failed; retrying");
        this.dirty = true;
        await sleep(Math.min(500 * 2 ** failures, 10_000));
      }
    }
  }
}

export class UnknownImageError extends Error {
  constructor(image: string) {
    super(
      `image ${JSON.stringify(image)} is not in the pod runner's image map (looked up ${imageLookupNames(image).join(", ")}): ` +
        `add it to test/stack/pod-runner/images.ts or to a JSON file named in LAGSCALE_POD_RUNNER_IMAGES`,
    );
    this.name = "UnknownImageError";
  }
}
