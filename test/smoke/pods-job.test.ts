/**
 * Smoke test: the real Job controller completes or fails Jobs from the phases and exit codes the process pod
 * runner reports. A pod that exits 0 completes its Job; with backoffLimit 1, a pod that exits 1 is retried
 * once (two pods, each Failed with exit code 1) and then the Job fails with BackoffLimitExceeded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BatchV1Api, V1Job } from "@kubernetes/client-node";
import { clients, createNamespace, podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { loadStack } from "../support/stack.js";

function exitJob(name: string, namespace: string, code: number, backoffLimit: number): V1Job {
  return {
    metadata: { name, namespace },
    spec: {
      backoffLimit,
      template: {
        metadata: { labels: { job: name } },
        spec: {
          restartPolicy: "Never",
          containers: [
            {
              name: "main",
              image: "lagscale.local/node",
              args: ["test/fixtures/exit-after.ts", "200", String(code)],
            },
          ],
        },
      },
    },
  };
}

async function finished(
  batch: BatchV1Api,
  name: string,
  namespace: string,
): Promise<{ type: string; reason?: string }> {
  return waitFor(
    `Job ${name} to finish`,
    async () => {
      const job = await batch.readNamespacedJob({ name, namespace });
      const done = job.status?.conditions?.find(
        (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      );
      return done ? { type: done.type, ...(done.reason ? { reason: done.reason } : {}) } : undefined;
    },
    120_000,
  );
}

test("Jobs complete on exit 0 and fail per backoffLimit on exit 1", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const { core, batch } = clients(stack);
  const ns = await createNamespace(core, "pods-job");
  t.after(ns.remove);

  await batch.createNamespacedJob({ namespace: ns.name, body: exitJob("succeeds", ns.name, 0, 0) });
  await batch.createNamespacedJob({ namespace: ns.name, body: exitJob("fails", ns.name, 1, 1) });

  assert.deepEqual(await finished(batch, "succeeds", ns.name), {
    type: "Complete",
    reason: "CompletionsReached",
  });
  const okPods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: "job=succeeds" })).items;
  assert.equal(okPods.length, 1);
  assert.equal(okPods[0]?.status?.phase, "Succeeded");
  assert.equal(okPods[0]?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);

  assert.deepEqual(await finished(batch, "fails", ns.name), {
    type: "Failed",
    reason: "BackoffLimitExceeded",
  });
  const badPods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: "job=fails" })).items;
  assert.equal(badPods.length, 2, "backoffLimit 1: the first pod and one retry");
  for (const pod of badPods) {
    assert.equal(pod.status?.phase, "Failed", pod.metadata?.name);
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    assert.equal(terminated?.exitCode, 1);
    assert.equal(terminated?.reason, "Error");
  }
  const job = await batch.readNamespacedJob({ name: "fails", namespace: ns.name });
  assert.equal(job.status?.failed, 2);
});
