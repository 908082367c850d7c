/**
 * Writing to lagscale's objects with controller/kube against the real API server: status through /status
 * with conditions that keep their lastTransitionTime, and nothing sent when nothing changed; Events recorded
 * for a ScaledObject and aggregated into one Event with a count; the finalizer added and removed while
 * another writer changes the object (a real 409 in between).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  EventRecorder,
  EventReason,
  FINALIZER,
  Finalizers,
  KubeRest,
  SCALED_OBJECTS,
  StatusWriter,
  isConflict,
  resourcePath,
  type CoreEvent,
  type KubeList,
  type RequestOptions,
} from "../../controller/kube/index.js";
import type { ScaledObject } from "../../core/crd/index.js";
import { clients, createNamespace, stackKubeConfig } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { applyLagscaleCrds, scaledObject } from "./kube-support.js";

const kc = stackKubeConfig();
const rest = new KubeRest(kc);
let ns = "";
let removeNs: () => Promise<void> = async () => undefined;

before(async () => {
  await applyLagscaleCrds(rest);
  const created = await createNamespace(clients().core, "kube-status");
  ns = created.name;
  removeNs = created.remove;
});
after(async () => {
  await removeNs();
  rest.close();
});

const soPath = (name?: string) => resourcePath(SCALED_OBJECTS, ns, name);

test("status patches through /status: conditions keep lastTransitionTime while unchanged, spec untouched", async () => {
  const created = await rest.post<ScaledObject>(soPath(), scaledObject(ns, "st"));
  let clock = new Date("2026-03-01T10:00:00Z");
  const writer = new StatusWriter(rest, () => clock);

  const first = await writer.patch(SCALED_OBJECTS, created, {
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "ScaledObjectReady",
        message: "ScaledObject is defined correctly and is ready for scaling",
      },
      {
        type: "Active",
        status: "False",
        reason: "ScalerNotActive",
        message: "Scaling is not performed because triggers are not active",
      },
    ],
    originalReplicaCount: 3,
    scaleTargetKind: "apps/v1.Deployment",
  });
  assert.equal(first.patched, true);
  const s1 = first.object.status!;
  assert.equal(s1.originalReplicaCount, 3);
  assert.deepEqual(
    s1.conditions?.map((c) => [c.type, c.status, c.lastTransitionTime]),
    [
      ["Ready", "True", "2026-03-01T10:00:00Z"],
      ["Active", "False", "2026-03-01T10:00:00Z"],
    ],
  );

  // later: Ready unchanged (new message), Active flips
  clock = new Date("2026-03-01T10:05:00Z");
  const second = await writer.patch(SCALED_OBJECTS, first.object, {
    conditions: [
      { type: "Ready", status: "True", reason: "ScaledObjectReady", message: "still ready" },
      {
        type: "Active",
        status: "True",
        reason: "ScalerActive",
        message: "Scaling is performed because triggers are active",
      },
    ],
    currentReplicas: 5,
  });
  const s2 = second.object.status!;
  assert.deepEqual(
    s2.conditions?.map((c) => [c.type, c.status, c.message, c.lastTransitionTime]),
    [
      ["Ready", "True", "still ready", "2026-03-01T10:00:00Z"],
      ["Active", "True", "Scaling is performed because triggers are active", "2026-03-01T10:05:00Z"],
    ],
  );
  assert.equal(s2.originalReplicaCount, 3, "fields not in the patch are kept");
  assert.equal(s2.currentReplicas, 5);

  // the same again: no request, the object is not touched
  const rvBefore = second.object.metadata.resourceVersion;
  const third = await writer.patch(SCALED_OBJECTS, second.object, {
    conditions: [{ type: "Ready", status: "True", reason: "ScaledObjectReady", message: "still ready" }],
    currentReplicas: 5,
  });
  assert.equal(third.patched, false);
  const fresh = await rest.get<ScaledObject>(soPath("st"));
  assert.equal(fresh.metadata.resourceVersion, rvBefore, "nothing was written");

  // a removal, and /status does not write the spec
  const fourth = await writer.patch(SCALED_OBJECTS, fresh, { originalReplicaCount: null });
  assert.equal(fourth.object.status?.originalReplicaCount, undefined);
  assert.equal(fourth.object.status?.currentReplicas, 5);
  await rest.patch(`${soPath("st")}/status`, { spec: { pollingInterval: 99 } });
  assert.equal((await rest.get<ScaledObject>(soPath("st"))).spec.pollingInterval, undefined);
});

test("events for a ScaledObject: a hot loop becomes one Event with its count; another message is another Event", async () => {
  const so = await rest.post<ScaledObject>(soPath(), scaledObject(ns, "ev"));
  const rec = new EventRecorder(rest, { repeatWindowMs: 500, instance: "test-instance" });
  for (let i = 0; i < 200; i++)
    rec.event(so, "Warning", EventReason.KEDAScalerFailed, "kafka: broker unreachable");
  rec.event(
    so,
    "Normal",
    EventReason.ScaledObjectReady,
    "ScaledObject is defined correctly and is ready for scaling",
  );
  await rec.flush();
  await new Promise((r) => setTimeout(r, 700));
  for (let i = 0; i < 50; i++)
    rec.event(so, "Warning", EventReason.KEDAScalerFailed, "kafka: broker unreachable");
  await rec.flush();

  const events = await waitFor("both Events", async () => {
    const list = await rest.get<KubeList<CoreEvent>>(`/api/v1/namespaces/${ns}/events`, {
      fieldSelector: `involvedObject.name=ev,involvedObject.kind=ScaledObject`,
    });
    return list.items.length === 2 && list.items.some((e) => e.count === 250) ? list.items : undefined;
  });
  const failed = events.find((e) => e.reason === "KEDAScalerFailed")!;
  assert.equal(failed.type, "Warning");
  assert.equal(failed.count, 250, "200 + 50 repeats in one Event");
  assert.equal(failed.message, "kafka: broker unreachable");
  assert.equal(failed.involvedObject.uid, so.metadata.uid);
  assert.equal(failed.involvedObject.apiVersion, "lagscale.io/v1alpha1");
  assert.equal(failed.source.component, "lagscale-controller");
  assert.equal(failed.reportingInstance, "test-instance");
  assert.ok(failed.lastTimestamp >= failed.firstTimestamp);
  const ready = events.find((e) => e.reason === "ScaledObjectReady")!;
  assert.equal(ready.type, "Normal");
  assert.equal(ready.count, 1);
});

/** KubeRest that runs `interleave` once, just before the first PATCH of `path` reaches the API server. */
class InterleavingRest extends KubeRest {
  conflicts = 0;
  private armed: (() => Promise<void>) | undefined;
  arm(interleave: () => Promise<void>): void {
    this.armed = interleave;
  }
  override async request<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
    const run = method === "PATCH" ? this.armed : undefined;
    if (run) {
      this.armed = undefined;
      await run();
    }
    try {
      return await super.request<T>(method, path, options);
    } catch (err) {
      if (isConflict(err)) this.conflicts++;
      throw err;
    }
  }
}

test("finalizer added and removed while another writer changes the object: conflicts retried, nothing lost", async () => {
  const so = await rest.post<ScaledObject>(soPath(), scaledObject(ns, "fin"));
  const racing = new InterleavingRest(kc);
  const finalizers = new Finalizers(racing);
  const other = "example.com/other-owner";

  // another controller adds its finalizer between our read and our write
  racing.arm(async () => {
    await rest.patch(soPath("fin"), { metadata: { finalizers: [other] } });
  });
  const added = await finalizers.add(SCALED_OBJECTS, so);
  assert.equal(added.changed, true);
  assert.equal(racing.conflicts, 1, "the first write was refused with 409");
  assert.deepEqual((await rest.get<ScaledObject>(soPath("fin"))).metadata.finalizers, [other, FINALIZER]);
  assert.equal((await finalizers.add(SCALED_OBJECTS, added.object)).changed, false, "already there");

  // delete: the object stays while finalizers remain; someone labels it while we remove ours
  await rest.delete(soPath("fin"));
  const deleting = await rest.get<ScaledObject>(soPath("fin"));
  assert.ok(deleting.metadata.deletionTimestamp);
  racing.arm(async () => {
    await rest.patch(soPath("fin"), { metadata: { labels: { touched: "yes" } } });
  });
  const removed = await finalizers.remove(SCALED_OBJECTS, deleting);
  assert.equal(removed.changed, true);
  assert.equal(racing.conflicts, 2);
  const still = await rest.get<ScaledObject>(soPath("fin"));
  assert.deepEqual(still.metadata.finalizers, [other], "only our finalizer went");
  assert.equal(still.metadata.labels?.touched, "yes", "the other writer's change survived");

  // the other owner lets go: the object is gone, and removing ours again is a no-op
  await rest.patch(soPath("fin"), { metadata: { finalizers: null } });
  await waitFor("the object to be gone", async () => {
    try {
      await rest.get(soPath("fin"));
      return undefined;
    } catch {
      return true;
    }
  });
  assert.equal((await finalizers.remove(SCALED_OBJECTS, still)).changed, false, "ours was already gone");
  await assert.rejects(
    finalizers.add(SCALED_OBJECTS, still),
    /add finalizer finalizer.lagscale.io to ScaledObject .*\/fin: the object no longer exists/,
  );
  racing.close();
});
