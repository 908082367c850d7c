import assert from "node:assert/strict";
import { test } from "node:test";
import {
  buildPodStatus,
  computePhase,
  restartBackoffMs,
  shouldRestart,
  shouldRestartInit,
  type ContainerRuntime,
  type ContainerState,
  type PodRuntime,
  type RestartPolicy,
} from "./status.js";

const t0 = new Date("2025-01-01T00:00:00.123Z");
const waiting: ContainerState = { kind: "waiting", reason: "ContainerCreating" };
const running: ContainerState = { kind: "running", startedAt: t0 };
const exited = (exitCode: number): ContainerState => ({
  kind: "terminated",
  exitCode,
  reason: exitCode === 0 ? "Completed" : "Error",
  startedAt: t0,
  finishedAt: t0,
});

function c(name: string, state: ContainerState, extra: Partial<ContainerRuntime> = {}): ContainerRuntime {
  return {
    name,
    image: "img",
    sidecar: false,
    state,
    restartCount: 0,
    ready: state.kind === "running",
    ...extra,
  };
}

function rt(
  policy: RestartPolicy,
  main: ContainerRuntime[],
  init: ContainerRuntime[] = [],
  finished = false,
): PodRuntime {
  return {
    restartPolicy: policy,
    init,
    main,
    finished,
    podIP: "127.1.0.1",
    hostIP: "127.0.0.1",
    startTime: t0,
  };
}

test("restart decisions per policy", () => {
  const table: [RestartPolicy, number, boolean, boolean][] = [
    // policy, exit code, main restarts, regular init restarts
    ["Always", 0, true, false],
    ["Always", 1, true, true],
    ["OnFailure", 0, false, false],
    ["OnFailure", 2, true, true],
    ["Never", 0, false, false],
    ["Never", 1, false, false],
  ];
  for (const [policy, code, main, init] of table) {
    assert.equal(shouldRestart(policy, code), main, `${policy} ${code}`);
    assert.equal(shouldRestartInit(policy, code), init, `${policy} ${code} init`);
  }
});

test("back-off doubles from 1 s and is capped at 16 s", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 10].map(restartBackoffMs),
    [1000, 2000, 4000, 8000, 16000, 16000, 16000],
  );
});

test("phase follows the kubelet's rules", () => {
  const sidecar = (s: ContainerState) => c("side", s, { sidecar: true });
  const restarted = (s: ContainerState, last: number) =>
    c("m", s, { restartCount: 1, lastTerminated: exited(last) as never });
  const table: [string, PodRuntime, string][] = [
    ["nothing started", rt("Always", [c("m", waiting)]), "Pending"],
    ["init running", rt("Always", [c("m", waiting)], [c("i", running)]), "Pending"],
    ["init failed, Never", rt("Never", [c("m", waiting)], [c("i", exited(1))]), "Failed"],
    ["init failed, OnFailure", rt("OnFailure", [c("m", waiting)], [c("i", exited(1))]), "Pending"],
    ["init done, main running", rt("Always", [c("m", running)], [c("i", exited(0))]), "Running"],
    ["sidecar running, main waiting", rt("Never", [c("m", waiting)], [sidecar(running)]), "Pending"],
    ["one running one done", rt("Never", [c("a", running), c("b", exited(0))]), "Running"],
    ["Never, all exit 0", rt("Never", [c("a", exited(0)), c("b", exited(0))]), "Succeeded"],
    ["Never, one exit 1", rt("Never", [c("a", exited(0)), c("b", exited(1))]), "Failed"],
    ["OnFailure, exit 1 (will restart)", rt("OnFailure", [c("a", exited(1))]), "Running"],
    [
      "OnFailure, in back-off",
      rt("OnFailure", [restarted({ kind: "waiting", reason: "CrashLoopBackOff" }, 1)]),
      "Running",
    ],
    ["OnFailure, exit 0", rt("OnFailure", [c("a", exited(0))]), "Succeeded"],
    ["Always, exit 0 (will restart)", rt("Always", [c("a", exited(0))]), "Running"],
    ["finished, all 0", rt("Always", [c("a", exited(0))], [sidecar(exited(137))], true), "Succeeded"],
    ["finished, killed", rt("Always", [c("a", exited(143))], [], true), "Failed"],
    ["finished by init failure", rt("Never", [c("m", waiting)], [c("i", exited(1))], true), "Failed"],
  ];
  for (const [what, runtime, want] of table) assert.equal(computePhase(runtime), want, what);
});

test("conditions and container statuses of a running, ready pod", () => {
  const status = buildPodStatus(
    rt(
      "Always",
      [c("app", running, { containerID: "process://42" })],
      [c("side", running, { sidecar: true })],
    ),
    undefined,
    t0,
  );
  assert.equal(status.phase, "Running");
  assert.equal(status.podIP, "127.1.0.1");
  assert.deepEqual(status.podIPs, [{ ip: "127.1.0.1" }]);
  assert.equal(status.hostIP, "127.0.0.1");
  const conds = Object.fromEntries((status.conditions ?? []).map((x) => [x.type, x.status]));
  assert.deepEqual(conds, {
    PodReadyToStartContainers: "True",
    Initialized: "True",
    Ready: "True",
    ContainersReady: "True",
    PodScheduled: "True",
  });
  const app = status.containerStatuses?.[0];
  assert.equal(app?.ready, true);
  assert.equal(app?.containerID, "process://42");
  assert.deepEqual(app?.state, { running: { startedAt: "2025-01-01T00:00:00Z" } });
  assert.equal(status.initContainerStatuses?.[0]?.started, true);
});

test("an unready container keeps Ready False with the kubelet's message; transition times are kept", () => {
  const first = buildPodStatus(rt("Always", [c("app", running, { ready: false })]), undefined, t0);
  const ready = first.conditions?.find((x) => x.type === "Ready");
  assert.equal(ready?.status, "False");
  assert.equal(ready?.reason, "ContainersNotReady");
  assert.equal(ready?.message, "containers with unready status: [app]");
  const later = new Date(t0.getTime() + 60_000);
  const second = buildPodStatus(rt("Always", [c("app", running, { ready: false })]), first.conditions, later);
  assert.equal(
    second.conditions?.find((x) => x.type === "Ready")?.lastTransitionTime,
    ready?.lastTransitionTime,
  );
  const third = buildPodStatus(rt("Always", [c("app", running)]), second.conditions, later);
  assert.equal(third.conditions?.find((x) => x.type === "Ready")?.lastTransitionTime, "2025-01-01T00:01:00Z");
});

test("initialization pending names the incomplete init containers", () => {
  const status = buildPodStatus(rt("Always", [c("app", waiting)], [c("migrate", running)]), undefined, t0);
  const init = status.conditions?.find((x) => x.type === "Initialized");
  assert.equal(init?.status, "False");
  assert.equal(init?.message, "containers with incomplete status: [migrate]");
  assert.equal(status.phase, "Pending");
});

test("a finished pod is not ready, reason PodCompleted, and its containers report terminated", () => {
  const status = buildPodStatus(
    rt("Never", [c("job", exited(0))], [c("side", exited(143), { sidecar: true })], true),
    undefined,
    t0,
  );
  assert.equal(status.phase, "Succeeded");
  const ready = status.conditions?.find((x) => x.type === "Ready");
  assert.equal(ready?.status, "False");
  assert.equal(ready?.reason, "PodCompleted");
  assert.equal(status.conditions?.find((x) => x.type === "Initialized")?.status, "True");
  assert.deepEqual(status.containerStatuses?.[0]?.state, {
    terminated: {
      exitCode: 0,
      reason: "Completed",
      startedAt: "2025-01-01T00:00:00Z",
      finishedAt: "2025-01-01T00:00:00Z",
    },
  });
});
