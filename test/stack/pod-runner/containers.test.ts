/**
 * Pods from real images on the local stack's pod runner (podman, where the runner has an engine):
 * - a pod from `lagscale/controller:dev` runs as the image's non-root user, with a read-only root, its
 *   image's and its own env, its Secret and emptyDir at their real mountPaths; an exec readiness probe
 *   runs inside the container (it checks `id -u`, which is 0 on the host); deleting the pod removes the
 *   container from podman;
 * - runAsNonRoot with a root user leaves the container waiting with CreateContainerConfigError;
 * - a pod whose image is not in the engine still runs from the process map.
 * Skipped where the stack's runner has no engine (LAGSCALE_POD_RUNNER_ENGINE) or the image was not built.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { clients, createNamespace, podRunnerMissing } from "../../support/kube.js";
import { loadStack } from "../../support/stack.js";
import { waitFor } from "../../support/wait.js";
import { apiStatus } from "./kube.js";
import { ENGINE_ENV, engineCommand, runnerEngine } from "./index.js";

const execFileAsync = promisify(execFile);
const stack = loadStack();
const IMAGE = "lagscale/controller:dev";
const podman = engineCommand();

async function whyNot(): Promise<string | undefined> {
  const missing = podRunnerMissing(stack);
  if (missing) return missing;
  const engine = await runnerEngine(stack.kubeconfig, stack.kube.nodeName!);
  if (!engine)
    return `the stack's pod runner has no container engine (start the stack with ${ENGINE_ENV}=podman)`;
  try {
    await execFileAsync(podman, ["image", "exists", IMAGE]);
  } catch {
    return `${IMAGE} is not in the engine (bash scripts/build-images.sh builds it)`;
  }
  return undefined;
}

const skip = await whyNot();

/** What the container reports of itself, from inside (printed once to its log). */
const REPORT = `
const fs = require("node:fs");
const os = require("node:os");
const write = (p) => { try { fs.writeFileSync(p, "x"); return "written"; } catch (e) { return e.code; } };
const e = process.env;
console.log("REPORT " + JSON.stringify({
  uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), hostname: os.hostname(),
  root: write("/written-by-test"), tmp: write("/tmp/written-by-test"), scratch: write("/scratch/x"),
  secret: fs.readFileSync("/etc/secret/key", "utf8"),
  token: fs.readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/token", "utf8").split(".").length,
  env: { NODE_ENV: e.NODE_ENV, FOO: e.FOO, POD_IP: e.POD_IP, HOME: e.HOME, PATH: e.PATH, KUBERNETES_SERVICE_HOST: e.KUBERNETES_SERVICE_HOST },
}));
setInterval(() => {}, 1 << 30);
`;

function reportOf(ns: string, pod: string, container: string): Record<string, unknown> | undefined {
  const file = path.join(stack.dir, "pods", ns, pod, `${container}.log`);
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith("REPORT "));
  return line ? (JSON.parse(line.slice("REPORT ".length)) as Record<string, unknown>) : undefined;
}

async function readPod(core: CoreV1Api, namespace: string, name: string): Promise<V1Pod | undefined> {
  try {
    return await core.readNamespacedPod({ name, namespace });
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}

const ready = (p: V1Pod | undefined) =>
  p?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? p : undefined;

describe("pods from their images through podman", { skip }, () => {
  const { core } = clients(stack);
  let ns: { name: string; remove: () => Promise<void> };

  before(async () => {
    ns = await createNamespace(core, "pods-images");
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: "s" }, stringData: { key: "from-the-secret" } },
    });
  });
  after(() => ns?.remove());

  it("runs lagscale/controller:dev as its non-root user, read-only root, its env and mounts; exec probes run inside", async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: "from-image" },
        spec: {
          terminationGracePeriodSeconds: 5,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "app",
              image: IMAGE,
              command: ["node", "-e", REPORT],
              env: [
                { name: "FOO", value: "bar" },
                { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
              ],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              // on the host the runner is root: this passes only when it runs inside the container
              readinessProbe: { exec: { command: ["sh", "-c", 'test "$(id -u)" = 1000'] }, periodSeconds: 1 },
              volumeMounts: [
                { name: "secret", mountPath: "/etc/secret" },
                { name: "scratch", mountPath: "/scratch" },
              ],
            },
          ],
          volumes: [
            { name: "secret", secret: { secretName: "s" } },
            { name: "scratch", emptyDir: {} },
          ],
        },
      },
    });
    const pod = await waitFor(
      "pod from-image Ready",
      async () => ready(await readPod(core, ns.name, "from-image")),
      120_000,
      250,
    );
    const status = pod.status?.containerStatuses?.[0];
    assert.match(status?.containerID ?? "", /^podman:\/\/[0-9a-f]{64}$/);
    assert.match(status?.imageID ?? "", /^sha256:[0-9a-f]{64}$/);

    const report = await waitFor("the container's report in its log", () =>
      reportOf(ns.name, "from-image", "app"),
    );
    assert.deepEqual(
      { uid: report.uid, gid: report.gid, cwd: report.cwd, hostname: report.hostname },
      { uid: 1000, gid: 1000, cwd: "/app", hostname: "from-image" },
      "the image's USER and WORKDIR, the pod's hostname",
    );
    assert.equal(report.root, "EROFS", "readOnlyRootFilesystem: / is read-only");
    assert.equal(report.tmp, "EROFS", "and so is /tmp (no tmpfs Kubernetes would not give)");
    assert.equal(report.scratch, "written", "the emptyDir is writable by the image's user");
    assert.equal(
      report.secret,
      "from-the-secret",
      "the Secret at its mountPath, readable by the image's user",
    );
    assert.equal(report.token, 3, "the service-account token (a JWT) at the standard path");
    const env = report.env as Record<string, string | undefined>;
    assert.equal(env.NODE_ENV, "production", "the image's ENV");
    assert.equal(env.FOO, "bar", "the pod's env");
    assert.equal(env.POD_IP, pod.status?.podIP, "the downward API");
    assert.ok(env.KUBERNETES_SERVICE_HOST, "the API server's address");
    assert.ok(!env.PATH?.includes("node_modules"), `the image's PATH, not the runner's: ${env.PATH}`);

    const id = status!.containerID!.slice("podman://".length);
    await core.deleteNamespacedPod({ name: "from-image", namespace: ns.name });
    await waitFor(
      "the pod gone",
      async () => ((await readPod(core, ns.name, "from-image")) ? undefined : true),
      60_000,
      250,
    );
    const { stdout } = await execFileAsync(podman, ["ps", "-a", "-q", "--no-trunc", "--filter", `id=${id}`]);
    assert.equal(stdout.trim(), "", "the container is removed with its pod");
  });

  it("refuses a root user under runAsNonRoot, as the kubelet does", async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: "as-root" },
        spec: {
          containers: [{ name: "app", image: IMAGE, securityContext: { runAsNonRoot: true, runAsUser: 0 } }],
        },
      },
    });
    const waiting = await waitFor(
      "as-root waiting",
      async () => {
        const w = (await readPod(core, ns.name, "as-root"))?.status?.containerStatuses?.[0]?.state?.waiting;
        return w?.reason === "CreateContainerConfigError" ? w : undefined;
      },
      60_000,
      250,
    );
    assert.match(waiting.message ?? "", /container has runAsNonRoot and image will run as root/);
  });

  it("a pod whose image is not in the engine runs from the process map", async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: "from-map" },
        spec: {
          containers: [
            {
              name: "app",
              image: "lagscale.local/node",
              args: ["test/fixtures/exit-after.ts", "0", "forever"],
            },
          ],
        },
      },
    });
    const pod = await waitFor(
      "pod from-map Ready",
      async () => ready(await readPod(core, ns.name, "from-map")),
      120_000,
      250,
    );
    assert.match(pod.status?.containerStatuses?.[0]?.containerID ?? "", /^process:\/\/\d+$/);
  });
});
