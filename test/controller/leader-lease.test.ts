/**
 * The elector's Lease writes against the real API server: a write that lands between our read and our write
 * makes the server answer 409 and tryAcquireOrRenew return false without throwing (the interfering write is
 * injected by wrapping the real lock, so its timing is certain; the 409 is the server's own); and the
 * MicroTime fields are accepted and round-trip, where a plain Date is refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import { createLogger } from "../../core/log.js";
import { LeaderElector } from "../../controller/leader/elector.js";
import {
  LeaseLock,
  apiStatus,
  type LeaderLock,
  type LockedRecord,
} from "../../controller/leader/lease-lock.js";
import type { LeaderRecord } from "../../controller/leader/decide.js";
import { loadStack } from "../support/stack.js";
import { createNamespace } from "../support/kube.js";
import { kube, readLease } from "./leader-support.js";

const silent = createLogger("leader-test", "silent");

/** The real Lease lock, plus one write by someone else right after the next read; records write statuses. */
class InterferingLock implements LeaderLock {
  interfere: (() => Promise<void>) | undefined;
  readonly statuses: (number | string)[] = [];
  constructor(private readonly inner: LeaseLock) {}
  describe(): string {
    return this.inner.describe();
  }
  async get(): Promise<LockedRecord | undefined> {
    const read = await this.inner.get();
    const interfere = this.interfere;
    this.interfere = undefined;
    await interfere?.();
    return read;
  }
  create(record: LeaderRecord): Promise<LockedRecord> {
    return this.track(this.inner.create(record));
  }
  update(record: LeaderRecord, resourceVersion: string): Promise<LockedRecord> {
    return this.track(this.inner.update(record, resourceVersion));
  }
  private async track(p: Promise<LockedRecord>): Promise<LockedRecord> {
    try {
      const r = await p;
      this.statuses.push("ok");
      return r;
    } catch (err) {
      this.statuses.push(apiStatus(err) ?? String(err));
      throw err;
    }
  }
}

function intruderSpec(): NonNullable<V1Lease["spec"]> {
  const now = new V1MicroTime(Date.now());
  return {
    holderIdentity: "intruder",
    leaseDurationSeconds: 15,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: 9,
  };
}

async function setup(prefix: string) {
  const stack = loadStack();
  const { leases, core } = kube(stack);
  const ns = await createNamespace(core, prefix);
  const lease = "lagscale-leader";
  const lock = new InterferingLock(new LeaseLock(leases, ns.name, lease));
  const elector = new LeaderElector({
    lock,
    identity: "me_test",
    leaseDurationMs: 4_000,
    renewDeadlineMs: 3_000,
    retryPeriodMs: 1_000,
    logger: silent,
  });
  return { leases, ns, lease, lock, elector };
}

async function intrude(leases: CoordinationV1Api, namespace: string, name: string): Promise<void> {
  const current = await leases.readNamespacedLease({ name, namespace });
  current.spec = intruderSpec();
  await leases.replaceNamespacedLease({ name, namespace, body: current });
}

test("a write between our read and our write: the server's 409 makes tryAcquireOrRenew false, no throw", async (t) => {
  const { leases, ns, lease, lock, elector } = await setup("leader-409");
  t.after(ns.remove);

  // 1. Create race: the Lease does not exist when we read, another candidate creates it before we do.
  lock.interfere = async () => {
    await leases.createNamespacedLease({
      namespace: ns.name,
      body: { metadata: { name: lease }, spec: intruderSpec() },
    });
  };
  assert.equal(await elector.tryAcquireOrRenew(), false);
  assert.deepEqual(lock.statuses, [409]);
  assert.equal((await readLease(leases, ns.name, lease))?.spec?.holderIdentity, "intruder");

  // 2. Update race while leading: we hold the Lease, someone rewrites it between our read and our renewal.
  await leases.deleteNamespacedLease({ name: lease, namespace: ns.name });
  assert.equal(await elector.tryAcquireOrRenew(), true, "creates the Lease when nobody races");
  assert.equal((await readLease(leases, ns.name, lease))?.spec?.holderIdentity, "me_test");
  lock.statuses.length = 0;
  lock.interfere = () => intrude(leases, ns.name, lease);
  assert.equal(await elector.tryAcquireOrRenew(), false);
  assert.deepEqual(lock.statuses, [409]);
  const after = await readLease(leases, ns.name, lease);
  assert.equal(after?.spec?.holderIdentity, "intruder", "our stale write did not land");
  assert.equal(after?.spec?.leaseTransitions, 9);

  // 3. The next attempt reads the intruder's record and respects it: no write at all.
  const rv = after?.metadata?.resourceVersion;
  assert.equal(await elector.tryAcquireOrRenew(), false);
  assert.deepEqual(lock.statuses, [409], "no write attempted");
  assert.equal((await readLease(leases, ns.name, lease))?.metadata?.resourceVersion, rv);
  assert.equal(elector.getLeader(), "intruder");
});

test("MicroTime: the elector's times are accepted and round-trip exactly; a plain Date is refused with 400", async (t) => {
  const { leases, ns, lease, elector } = await setup("leader-microtime");
  t.after(ns.remove);

  assert.equal(await elector.tryAcquireOrRenew(), true);
  const created = await readLease(leases, ns.name, lease);
  const acquire = String(created?.spec?.acquireTime);
  assert.match(
    acquire,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000Z$/,
    "our millisecond time, in microseconds",
  );
  assert.equal(created?.spec?.renewTime && String(created.spec.renewTime), acquire);

  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await elector.tryAcquireOrRenew(), true, "renewal: a write of the times we read back");
  const renewed = await readLease(leases, ns.name, lease);
  assert.equal(String(renewed?.spec?.acquireTime), acquire, "acquireTime kept to the microsecond");
  assert.ok(Date.parse(String(renewed?.spec?.renewTime)) > Date.parse(acquire), "renewTime moved on");
  assert.equal(renewed?.spec?.leaseTransitions, 0);

  // The pitfall the elector avoids: a Date serialises with 3 fractional digits, which the server rejects.
  const body = renewed!;
  body.spec = { ...body.spec, renewTime: new Date() };
  await assert.rejects(
    leases.replaceNamespacedLease({ name: lease, namespace: ns.name, body }),
    (err: unknown) => {
      assert.equal(apiStatus(err), 400);
      return true;
    },
  );
});
