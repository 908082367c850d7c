/**
 * The bounds of the generated CRDs, enforced by the stack's real API server (no webhook involved): the
 * CRDs are applied from charts/lagscale/crds/, then objects over a bound are sent with a server-side
 * dry run (nothing is stored) and must come back 422 naming the field, while objects at the bound pass.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KubeApiError, type KubeRest } from "../../controller/kube/rest.js";
import { createNamespace, installCrds, kubeRest, type TestNamespace } from "../support/controller.js";
import { loadStack } from "../support/stack.js";

type Obj = Record<string, unknown>;

const stack = loadStack();
let rest: KubeRest;
let ns: TestNamespace;

function scaledObject(spec: Obj = {}): Obj {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "bounds" },
    spec: {
      scaleTargetRef: { name: "consumer" },
      triggers: [{ type: "kafka", metadata: { bootstrapServers: "k:9092", consumerGroup: "g", topic: "t" } }],
      ...spec,
    },
  };
}

/** Sends the object with dryRun=All: the API server validates it against the CRD and stores nothing. */
async function dryRun(plural: string, body: Obj): Promise<KubeApiError | undefined> {
  try {
    await rest.post(`/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/${plural}`, body, { dryRun: "All" });
    return undefined;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
}

async function refused(plural: string, body: Obj, field: string): Promise<void> {
  const e = await dryRun(plural, body);
  assert.ok(e, `${field}: expected a refusal`);
  assert.equal(e.code, 422, e.message);
  assert.ok(e.detail.includes(field), `expected ${field} in: ${e.detail}`);
}

describe("CRD bounds through the real API server", () => {
  before(async () => {
    await installCrds(stack);
    rest = kubeRest(stack);
    ns = await createNamespace(stack, "crd-bounds");
  });
  after(async () => {
    await ns?.remove();
    rest?.close();
  });

  it("int32 fields: 2147483647 passes, 2147483648 is refused (maxReplicaCount, fallback.replicas, pollingInterval)", async () => {
    assert.equal(
      await dryRun(
        "scaledobjects",
        scaledObject({ pollingInterval: 2147483647, maxReplicaCount: 2147483647 }),
      ),
      undefined,
    );
    await refused("scaledobjects", scaledObject({ maxReplicaCount: 2147483648 }), "spec.maxReplicaCount");
    await refused("scaledobjects", scaledObject({ pollingInterval: 2147483648 }), "spec.pollingInterval");
    await refused(
      "scaledobjects",
      scaledObject({ fallback: { failureThreshold: 3, replicas: 1e12 } }),
      "spec.fallback.replicas",
    );
  });

  it('tolerance: "50m" passes; "-0.5" and "1e400" are refused by the pattern', async () => {
    const withTolerance = (tolerance: string) =>
      scaledObject({ advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { tolerance } } } } });
    assert.equal(await dryRun("scaledobjects", withTolerance("50m")), undefined);
    for (const t of ["-0.5", "1e400"]) {
      await refused(
        "scaledobjects",
        withTolerance(t),
        "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance",
      );
    }
  });

  it("lists and names: 101 triggers, a 254-character target name, 101 secretTargetRef entries are refused", async () => {
    const trigger = {
      type: "cron",
      metadata: { timezone: "Etc/UTC", start: "0 8 * * *", end: "0 18 * * *", desiredReplicas: "1" },
    };
    await refused("scaledobjects", scaledObject({ triggers: Array(101).fill(trigger) }), "spec.triggers");
    await refused(
      "scaledobjects",
      scaledObject({ scaleTargetRef: { name: "d".repeat(254) } }),
      "spec.scaleTargetRef.name",
    );
    const ta = (n: number): Obj => ({
      apiVersion: "lagscale.io/v1alpha1",
      kind: "TriggerAuthentication",
      metadata: { name: "bounds" },
      spec: { secretTargetRef: Array(n).fill({ parameter: "password", name: "s", key: "k" }) },
    });
    assert.equal(await dryRun("triggerauthentications", ta(100)), undefined);
    await refused("triggerauthentications", ta(101), "spec.secretTargetRef");
  });
});
