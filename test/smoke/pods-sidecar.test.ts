/**
 * Smoke test: init containers and native sidecars on the process pod runner. A Job's pod has an init
 * container (runs to completion first), a native sidecar (an init container with restartPolicy Always that
 * runs until SIGTERM) and a main container that exits 0. The Job completes when the main container ends:
 * the sidecar is stopped with SIGTERM after it, and does not hold the pod up.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { clients, createNamespace, podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { loadStack } from "../support/stack.js";

const exitAfter = (ms: number, code: number | "forever") => [
  "test/fixtures/exit-after.ts",
  String(ms),
  String(code),
];

test("a Job pod with a native sidecar completes when its main container ends", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const { core, batch } = clients(stack);
  const ns = await createNamespace(core, "pods-sidecar");
  t.after(ns.remove);

  await batch.createNamespacedJob({
    namespace: ns.name,
    body: {
      metadata: { name: "with-sidecar", namespace: ns.name },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { job: "with-sidecar" } },
          spec: {
            restartPolicy: "Never",
            initContainers: [
              { name: "setup", image: "lagscale.local/node", args: exitAfter(100, 0) },
              {
                name: "sidecar",
                image: "lagscale.local/node",
                args: exitAfter(0, "forever"),
                restartPolicy: "Always",
              },
            ],
            containers: [{ name: "main", image: "lagscale.local/node", args: exitAfter(1500, 0) }],
          },
        },
      },
    },
  });

  const condition = await waitFor(
    "the Job to finish",
    async () => {
      const job = await batch.readNamespacedJob({ name: "with-sidecar", namespace: ns.name });
      return job.status?.conditions?.find(
        (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      );
    },
    90_000,
  );
  assert.equal(condition.type, "Complete", `Job ended ${condition.type}: ${condition.message ?? ""}`);

  const [pod] = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: "job=with-sidecar" }))
    .items;
  assert.ok(pod);
  assert.equal(pod.status?.phase, "Succeeded");
  const init = Object.fromEntries((pod.status?.initContainerStatuses ?? []).map((s) => [s.name, s]));
  const setup = init.setup?.state?.terminated;
  const sidecar = init.sidecar?.state?.terminated;
  const main = pod.status?.containerStatuses?.[0]?.state?.terminated;
  assert.equal(setup?.exitCode, 0);
  assert.equal(main?.exitCode, 0);
  assert.ok(sidecar, "the sidecar was stopped when the main container ended");
  const t0 = (d: Date | string | undefined) => new Date(d ?? 0).getTime();
  assert.ok(
    t0(setup?.finishedAt) <= t0(init.sidecar?.state?.terminated?.startedAt),
    "init container before sidecar",
  );
  assert.ok(t0(sidecar.startedAt) <= t0(main?.startedAt), "sidecar started before the main container");
  assert.ok(t0(sidecar.finishedAt) >= t0(main?.finishedAt), "sidecar stopped after the main container");

  const dir = path.join(stack.dir, "pods", ns.name, pod.metadata?.name ?? "");
  assert.match(
    readFileSync(path.join(dir, "sidecar.log"), "utf8"),
    /exit-after: SIGTERM/,
    "sidecar got SIGTERM",
  );
  assert.match(readFileSync(path.join(dir, "main.log"), "utf8"), /exiting with 0/);
});
