/**
 * The pure half of running a pod's container from its image through podman (engine.ts does the I/O): the
 * image's config as `podman image inspect` reports it, the container's name and labels, the bind mounts of
 * the pod's volumes at their real mountPaths, the user it runs as (runAsNonRoot checked as the kubelet
 * does), the `podman run` argument list from the pod spec and container, and how a stopped container ended.
 *
 * What podman cannot do for a pod on the host network is not applied and is said in `notes`
 * (Localhost seccomp profiles, SELinux and AppArmor options, sysctls, procMount).
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { V1Container, V1Pod, V1SecurityContext } from "@kubernetes/client-node";
import { parseQuantity } from "../../../core/crd/quantity.js";
import { ContainerConfigError } from "./env.js";
import { kubernetesArgv } from "./images.js";
import { SERVICEACCOUNT_MOUNT, type MaterializedVolumes } from "./volumes.js";

/** What a container needs to know of its image. */
export interface ImageConfig {
  /** The image's ID (hex, no `sha256:`): the container runs exactly the image that was inspected. */
  id: string;
  entrypoint: string[];
  cmd: string[];
  /** USER as written in the image (`1000:1000`, `node`, or empty for root). */
  user: string;
  workingDir: string;
  env: Record<string, string>;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

/** The first image of `podman image inspect <image>` output (a JSON array). */
export function parseImageInspect(json: unknown, image: string): ImageConfig {
  const first: unknown = Array.isArray(json) ? json[0] : undefined;
  if (typeof first !== "object" || first === null) {
    throw new Error(`podman image inspect ${image}: expected a JSON array of images`);
  }
  const o = first as { Id?: unknown; Config?: Record<string, unknown> };
  if (typeof o.Id !== "string" || !/^(sha256:)?[0-9a-f]{12,}$/.test(o.Id)) {
    throw new Error(`podman image inspect ${image}: no image Id`);
  }
  const c = o.Config ?? {};
  const env: Record<string, string> = {};
  for (const kv of strings(c.Env)) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    id: o.Id.replace(/^sha256:/, ""),
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    user: typeof c.User === "string" ? c.User : "",
    workingDir: typeof c.WorkingDir === "string" ? c.WorkingDir : "",
    env,
  };
}

/** Label every container of one runner carries, so that a runner started again finds what it left behind. */
export const RUNNER_LABEL = "io.lagscale.pod-runner";

/** A short id for one runner: its state folder and node (two stacks on one machine share one podman). */
export function runnerId(stateDir: string, nodeName: string): string {
  return createHash("sha256")
    .update(`${path.resolve(stateDir)}\0${nodeName}`)
    .digest("hex")
    .slice(0, 10);
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** `lagscale-<runner>_<namespace>_<pod>_<uid prefix>_<container>`: unique per pod incarnation and stack. */
export function containerName(runner: string, pod: PodRef, container: string): string {
  return `lagscale-${runner}_${pod.namespace}_${pod.name}_${pod.uid.slice(0, 8)}_${container}`;
}

/** The runner's label plus the kubelet's own pod labels. */
export function containerLabels(runner: string, pod: PodRef, container: string): Record<string, string> {
  return {
    [RUNNER_LABEL]: runner,
    "io.kubernetes.pod.namespace": pod.namespace,
    "io.kubernetes.pod.name": pod.name,
    "io.kubernetes.pod.uid": pod.uid,
    "io.kubernetes.container.name": container,
  };
}

export interface BindMount {
  source: string;
  target: string;
  readOnly: boolean;
}

/**
 * The container's volumeMounts as bind mounts of the pod's volume folders at their mountPaths (subPath
 * appended). Secret, configMap, downwardAPI and projected volumes are always read-only, as the kubelet
 * mounts them; the runner's own service-account folder goes to the standard path when no volume is there.
 */
export function containerMounts(pod: V1Pod, c: V1Container, vols: MaterializedVolumes): BindMount[] {
  const kinds = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, v]));
  const out: BindMount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const dir = vols.dirs[m.name];
    if (!dir) {
      throw new ContainerConfigError(
        `container ${c.name}: volumeMount ${JSON.stringify(m.name)} names no volume of the pod`,
      );
    }
    const v = kinds.get(m.name);
    const atomic = Boolean(v?.secret || v?.configMap || v?.downwardAPI || v?.projected);
    out.push({
      source: m.subPath ? path.join(dir, m.subPath) : dir,
      target: m.mountPath,
      readOnly: Boolean(m.readOnly) || atomic,
    });
  }
  const fallback = vols.dirs[".serviceaccount"];
  if (fallback && !out.some((m) => m.target === SERVICEACCOUNT_MOUNT)) {
    out.push({ source: fallback, target: SERVICEACCOUNT_MOUNT, readOnly: true });
  }
  return out;
}

/**
 * podman's `--user` for the container (undefined: the image's USER), after the kubelet's runAsNonRoot
 * check; the container's securityContext wins over the pod's.
 */
export function containerUser(pod: V1Pod, c: V1Container, imageUser: string): string | undefined {
  const podSc = pod.spec?.securityContext;
  const sc = c.securityContext;
  const runAsUser = sc?.runAsUser ?? podSc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? podSc?.runAsGroup;
  const runAsNonRoot = sc?.runAsNonRoot ?? podSc?.runAsNonRoot;
  const imageUid = imageUser.split(":")[0] ?? "";
  if (runAsNonRoot) {
    const who = `(pod: "${pod.metadata?.namespace}/${pod.metadata?.name}", container: ${c.name})`;
    const uid = runAsUser !== undefined ? String(runAsUser) : imageUid || "0";
    if (uid === "0" || uid === "root") {
      throw new ContainerConfigError(`container has runAsNonRoot and image will run as root ${who}`);
    }
    if (!/^\d+$/.test(uid)) {
      throw new ContainerConfigError(
        `container has runAsNonRoot and image has non-numeric user (${uid}), cannot verify user is non-root ${who}`,
      );
    }
  }
  if (runAsUser !== undefined)
    return runAsGroup !== undefined ? `${runAsUser}:${runAsGroup}` : `${runAsUser}`;
  if (runAsGroup !== undefined) return `${imageUid || "0"}:${runAsGroup}`;
  return undefined;
}

function securityArgs(pod: V1Pod, c: V1Container, notes: string[]): string[] {
  const sc: V1SecurityContext = c.securityContext ?? {};
  const podSc = pod.spec?.securityContext ?? {};
  const args: string[] = [];
  if (sc.privileged) args.push("--privileged");
  if (sc.allowPrivilegeEscalation === false) args.push("--security-opt=no-new-privileges");
  for (const cap of sc.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
  for (const cap of sc.capabilities?.add ?? []) args.push(`--cap-add=${cap}`);
  // podman's --read-only also mounts tmpfs on /tmp, /run and /var/tmp; Kubernetes gives no such thing
  if (sc.readOnlyRootFilesystem) args.push("--read-only", "--read-only-tmpfs=false");
  for (const g of [podSc.fsGroup, ...(podSc.supplementalGroups ?? [])]) {
    if (g !== undefined) args.push(`--group-add=${g}`);
  }
  const seccomp = sc.seccompProfile ?? podSc.seccompProfile;
  if (seccomp?.type === "Unconfined") args.push("--security-opt=seccomp=unconfined");
  else if (seccomp?.type === "Localhost") notes.push("seccompProfile Localhost is not applied");
  if (sc.seLinuxOptions ?? podSc.seLinuxOptions) notes.push("seLinuxOptions are not applied");
  if (sc.appArmorProfile ?? podSc.appArmorProfile) notes.push("appArmorProfile is not applied");
  if (sc.procMount && sc.procMount !== "Default") notes.push(`procMount ${sc.procMount} is not applied`);
  if (podSc.sysctls?.length) notes.push("sysctls are not applied (host network)");
  if (pod.spec?.hostPID) args.push("--pid=host");
  if (pod.spec?.hostIPC) args.push("--ipc=host");
  return args;
}

function quantity(q: unknown, what: string): number {
  const r = parseQuantity(q);
  if (!r.ok || r.value <= 0) {
    throw new ContainerConfigError(`${what}: ${r.ok ? `${JSON.stringify(q)} must be positive` : r.message}`);
  }
  return r.value;
}

function resourceArgs(c: V1Container): string[] {
  const limits = c.resources?.limits ?? {};
  const args: string[] = [];
  if (limits.memory !== undefined) {
    args.push(`--memory=${Math.floor(quantity(limits.memory, `container ${c.name}: limits.memory`))}`);
  }
  if (limits.cpu !== undefined) {
    args.push(`--cpus=${quantity(limits.cpu, `container ${c.name}: limits.cpu`)}`);
  }
  return args;
}

/**
 * Whether a variable can go through podman's `--env-file` (one `KEY=VALUE` a line, read by a line scanner
 * that drops `\r` and skips `#` lines); others (a PEM certificate, say) go on the command line.
 */
export function fitsEnvFile(name: string, value: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name) && !/[\r\n]/.test(value) && value.length <= 16_384;
}

function mountArg(m: BindMount): string {
  for (const p of [m.source, m.target]) {
    if (/[,\n]/.test(p) || !path.isAbsolute(p)) {
      throw new ContainerConfigError(
        `mount ${JSON.stringify(p)}: the pod runner bind-mounts only absolute paths without commas`,
      );
    }
  }
  return `--mount=type=bind,source=${m.source},destination=${m.target}${m.readOnly ? ",ro=true" : ""}`;
}

export interface RunSpec {
  name: string;
  labels: Record<string, string>;
  /** The image as the pod names it (for messages), and its inspected config. */
  image: string;
  imageConfig: ImageConfig;
  pod: V1Pod;
  /** The container, its command and args already `$(VAR)`-expanded. */
  container: V1Container;
  hostname: string;
  /** The container's env as Kubernetes resolves it (the image's own ENV is podman's to add beneath). */
  env: Record<string, string>;
  mounts: BindMount[];
  envFile: string;
  cidFile: string;
}

export interface RunPlan {
  /** Arguments after the engine command: `run ... <image id>`. */
  args: string[];
  /** What to write to `envFile` before running. */
  envFileText: string;
  /** The container's process as Kubernetes' command/args rules make it. */
  argv: string[];
  notes: string[];
}

/** The `podman run` for one container of a pod: host network, the pod's hostname, user, security, mounts. */
export function podmanRun(spec: RunSpec): RunPlan {
  const c = spec.container;
  const notes: string[] = [];
  const img = spec.imageConfig;
  const argv = kubernetesArgv(spec.image, img, {
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
  });
  const user = containerUser(spec.pod, c, img.user);
  const fileLines: string[] = [];
  const envArgs: string[] = [];
  for (const [k, v] of Object.entries(spec.env)) {
    if (fitsEnvFile(k, v)) fileLines.push(`${k}=${v}`);
    else envArgs.push(`--env=${k}=${v}`);
  }
  const args = [
    "run",
    `--name=${spec.name}`,
    ...Object.entries(spec.labels).map(([k, v]) => `--label=${k}=${v}`),
    "--pull=never",
    "--network=host",
    `--hostname=${spec.hostname}`,
    // the output goes to the runner's log file through the attached streams; no second copy in podman
    "--log-driver=none",
    `--cidfile=${spec.cidFile}`,
    ...(user !== undefined ? [`--user=${user}`] : []),
    ...(c.workingDir ? [`--workdir=${c.workingDir}`] : []),
    ...securityArgs(spec.pod, c, notes),
    ...resourceArgs(c),
    ...spec.mounts.map(mountArg),
    `--env-file=${spec.envFile}`,
    ...envArgs,
    // the whole process as the entrypoint, so podman appends nothing of the image's CMD
    `--entrypoint=${JSON.stringify(argv)}`,
    img.id,
  ];
  return { args, envFileText: fileLines.map((l) => `${l}\n`).join(""), argv, notes };
}

/** The part of `podman container inspect`'s State that says how a container ended. */
export interface InspectState {
  ExitCode?: number;
  OOMKilled?: boolean;
  Error?: string;
  StartedAt?: string;
}

export interface ContainerEnd {
  exitCode: number;
  reason: "Completed" | "Error" | "OOMKilled" | "StartError";
  message?: string;
}

/**
 * How a container ended, from its inspected state when there is one, else from `podman run`'s own exit
 * code (125: podman failed before the container ran; 126/127: the command could not be run).
 */
export function containerEnd(state: InspectState | undefined, runExitCode: number): ContainerEnd {
  if (state) {
    const neverStarted = !state.StartedAt || state.StartedAt.startsWith("0001-01-01");
    if (state.Error && neverStarted) return { exitCode: 128, reason: "StartError", message: state.Error };
    const exitCode = state.ExitCode ?? runExitCode;
    if (state.OOMKilled) return { exitCode, reason: "OOMKilled" };
    return { exitCode, reason: exitCode === 0 ? "Completed" : "Error" };
  }
  if (runExitCode >= 125 && runExitCode <= 127) {
    return {
      exitCode: 128,
      reason: "StartError",
      message: `podman run exited with ${runExitCode} before the container ran (see the container's log)`,
    };
  }
  return { exitCode: runExitCode, reason: runExitCode === 0 ? "Completed" : "Error" };
}
