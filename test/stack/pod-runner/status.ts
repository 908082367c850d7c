/**
 * The pure part of playing the kubelet: from what each container process is doing, the pod's phase,
 * conditions and container statuses; and whether and when a container that ended runs again.
 */
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from "@kubernetes/client-node";

export type RestartPolicy = "Always" | "OnFailure" | "Never";
export type Phase = "Pending" | "Running" | "Succeeded" | "Failed";

export type ContainerState =
  | { kind: "waiting"; reason: string; message?: string }
  | { kind: "running"; startedAt: Date }
  | {
      kind: "terminated";
      exitCode: number;
      signal?: number;
      reason: string;
      message?: string;
      startedAt?: Date;
      finishedAt: Date;
    };

export type Terminated = Extract<ContainerState, { kind: "terminated" }>;

export interface ContainerRuntime {
  name: string;
  image: string;
  /** A native sidecar: an init container with restartPolicy Always. */
  sidecar: boolean;
  state: ContainerState;
  lastTerminated?: Terminated;
  restartCount: number;
  /** Readiness (probe result, or running when the container has no readiness probe). */
  ready: boolean;
  /** The current or last container's id (`process://<pid>`, `podman://<id>`). */
  containerID?: string;
  /** The image the container runs, as its engine names it; the image name otherwise. */
  imageID?: string;
}

export interface PodRuntime {
  restartPolicy: RestartPolicy;
  init: ContainerRuntime[];
  main: ContainerRuntime[];
  /** The runner decided nothing runs again (all main containers done, or a fatal init failure). */
  finished: boolean;
  podIP?: string;
  hostIP: string;
  startTime?: Date;
}

export function restartPolicyOf(pod: V1Pod): RestartPolicy {
  const p = pod.spec?.restartPolicy;
  return p === "OnFailure" || p === "Never" ? p : "Always";
}

/** Whether a main container that exited with `exitCode` runs again under the pod's restart policy. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  if (policy === "Always") return true;
  if (policy === "OnFailure") return exitCode !== 0;
  return false;
}

/**
 * Whether a regular init container runs again: on failure unless the pod's policy is Never (an init
 * container under `Always` behaves as under `OnFailure`, as in Kubernetes).
 */
export function shouldRestartInit(policy: RestartPolicy, exitCode: number): boolean {
  return exitCode !== 0 && policy !== "Never";
}

/**
 * Back-off before the next start: 1 s doubling to 16 s (the kubelet's is 10 s to 5 min; a test stack wants
 * short), back to the start once a container ran for a minute.
 */
export function restartBackoffMs(consecutiveFailures: number): number {
  return Math.min(1000 * 2 ** Math.max(0, consecutiveFailures - 1), 16_000);
}

export const BACKOFF_RESET_AFTER_MS = 60_000;

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function isSucceeded(c: ContainerRuntime): boolean {
  return c.state.kind === "terminated" && c.state.exitCode === 0;
}

export function computePhase(rt: PodRuntime): Phase {
  if (rt.finished) {
    const initFailed = rt.init.some(
      (c) => !c.sidecar && c.state.kind === "terminated" && c.state.exitCode !== 0,
    );
    if (initFailed) return "Failed";
    return rt.main.length > 0 && rt.main.every(isSucceeded) ? "Succeeded" : "Failed";
  }
  for (const c of rt.init) {
    if (c.sidecar) continue;
    if (!isSucceeded(c)) {
      if (c.state.kind === "terminated" && rt.restartPolicy === "Never") return "Failed";
      return "Pending";
    }
  }
  const neverRan = rt.main.some(
    (c) => c.state.kind === "waiting" && c.restartCount === 0 && !c.lastTerminated,
  );
  if (neverRan) return "Pending";
  if (rt.main.some((c) => c.state.kind === "running")) return "Running";
  // every main container has stopped at least once
  if (rt.restartPolicy === "Always") return "Running";
  if (
    rt.main.every((c) => isSucceeded(c) || (c.state.kind === "waiting" && c.lastTerminated?.exitCode === 0))
  ) {
    return "Succeeded";
  }
  if (rt.restartPolicy === "Never") return "Failed";
  return "Running";
}

function apiState(s: ContainerState): V1ContainerState {
  switch (s.kind) {
    case "waiting":
      return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
    case "running":
      return { running: { startedAt: rfc3339(s.startedAt) as unknown as Date } };
    case "terminated":
      return {
        terminated: {
          exitCode: s.exitCode,
          ...(s.signal !== undefined ? { signal: s.signal } : {}),
          reason: s.reason,
          ...(s.message ? { message: s.message } : {}),
          ...(s.startedAt ? { startedAt: rfc3339(s.startedAt) as unknown as Date } : {}),
          finishedAt: rfc3339(s.finishedAt) as unknown as Date,
        },
      };
  }
}

export function containerStatus(c: ContainerRuntime, podDone: boolean): V1ContainerStatus {
  const running = c.state.kind === "running";
  return {
    name: c.name,
    image: c.image,
    imageID: c.imageID ?? `lagscale.local/image@${c.image}`,
    ...(c.containerID !== undefined ? { containerID: c.containerID } : {}),
    ready: running && c.ready && !podDone,
    started: running,
    restartCount: c.restartCount,
    state: apiState(c.state),
    lastState: c.lastTerminated ? apiState(c.lastTerminated) : {},
  };
}

function condition(
  type: string,
  ok: boolean,
  previous: V1PodCondition[] | undefined,
  now: Date,
  reason?: string,
  message?: string,
): V1PodCondition {
  const status = ok ? "True" : "False";
  const prev = previous?.find((p) => p.type === type);
  const since =
    prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now);
  return {
    type,
    status,
    lastTransitionTime: since as unknown as Date,
    ...(!ok && reason ? { reason } : {}),
    ...(!ok && message ? { message } : {}),
  };
}

function readiness(rt: PodRuntime): {
  done: boolean;
  incompleteInit: string[];
  unready: string[];
  containersReady: boolean;
} {
  const phase = computePhase(rt);
  const done = phase === "Succeeded" || phase === "Failed";
  const incompleteInit = rt.init
    .filter((c) => (c.sidecar ? c.state.kind !== "running" && !done : !isSucceeded(c)))
    .map((c) => c.name);
  const unready = [...rt.init.filter((c) => c.sidecar), ...rt.main]
    .filter((c) => !(c.state.kind === "running" && c.ready))
    .map((c) => c.name);
  const containersReady = !done && incompleteInit.length === 0 && unready.length === 0;
  return { done, incompleteInit, unready, containersReady };
}

/** The pod's Ready condition: initialized, not done, every main container and sidecar running and ready. */
export function podReady(rt: PodRuntime): boolean {
  return readiness(rt).containersReady;
}

/**
 * The whole `status` to send (as a merge patch: arrays are replaced). Dates are RFC 3339 strings;
 * `previous` keeps lastTransitionTime of conditions that did not change.
 */
export function buildPodStatus(
  rt: PodRuntime,
  previous: V1PodCondition[] | undefined,
  now: Date,
): V1PodStatus {
  const phase = computePhase(rt);
  const { done, incompleteInit, unready, containersReady } = readiness(rt);
  const notReadyReason = done ? "PodCompleted" : "ContainersNotReady";
  const notReadyMessage = done ? undefined : `containers with unready status: [${unready.join(" ")}]`;
  const conditions: V1PodCondition[] = [
    condition("PodReadyToStartContainers", rt.podIP !== undefined && !done, previous, now),
    condition(
      "Initialized",
      incompleteInit.length === 0 || done,
      previous,
      now,
      "ContainersNotInitialized",
      `containers with incomplete status: [${incompleteInit.join(" ")}]`,
    ),
    condition("Ready", containersReady, previous, now, notReadyReason, notReadyMessage),
    condition("ContainersReady", containersReady, previous, now, notReadyReason, notReadyMessage),
    condition("PodScheduled", true, previous, now),
  ];
  return {
    phase,
    conditions,
    hostIP: rt.hostIP,
    hostIPs: [{ ip: rt.hostIP }],
    ...(rt.podIP ? { podIP: rt.podIP, podIPs: [{ ip: rt.podIP }] } : {}),
    ...(rt.startTime ? { startTime: rfc3339(rt.startTime) as unknown as Date } : {}),
    initContainerStatuses: rt.init.map((c) => containerStatus(c, done)),
    containerStatuses: rt.main.map((c) => containerStatus(c, done)),
  };
}
