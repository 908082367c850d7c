/**
 * Leader election between two real processes on one Lease of the real API server: exactly one leads; a
 * SIGKILLed leader is replaced after its lease runs out (leaseDuration + retry period, not sooner); a
 * gracefully stopped leader releases the lease and is replaced at once. Short timings (4 s / 3 s / 1 s) keep
 * the test quick; bounds are generous for a busy machine.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import { loadStack } from "../support/stack.js";
import { sleep } from "../stack/process.js";
import { createNamespace } from "../support/kube.js";
import { Candidate, kube, readLease, type Timings } from "./leader-support.js";

const JITTER = 1.2;
/** Extra time for process start-up, API latency and a loaded machine. */
const SLACK_MS = 3_000;

function leaderIntervals(
  cands: Candidate[],
  ends: Map<Candidate, number>,
): { name: string; from: number; to: number }[] {
  const out: { name: string; from: number; to: number }[] = [];
  for (const c of cands) {
    let from: number | undefined;
    for (const e of c.events) {
      if (e.event === "started") from = e.at;
      if (e.event === "stopped" && from !== undefined) {
        out.push({ name: c.name, from, to: e.at });
        from = undefined;
      }
    }
    if (from !== undefined) out.push({ name: c.name, from, to: ends.get(c) ?? Date.now() });
  }
  return out.sort((a, b) => a.from - b.from);
}

function assertNoOverlap(cands: Candidate[], ends: Map<Candidate, number>): void {
  const iv = leaderIntervals(cands, ends);
  for (let i = 1; i < iv.length; i++) {
    assert.ok(iv[i]!.from >= iv[i - 1]!.to, `leadership overlapped: ${JSON.stringify(iv)}`);
  }
}

/** Samples the Lease and both processes' reports: exactly one leads, and the Lease names it. */
async function assertOneLeader(
  t: TestContext,
  cands: Candidate[],
  leases: ReturnType<typeof kube>["leases"],
  ns: string,
  lease: string,
) {
  let lastRenew: string | undefined;
  let renewsSeen = 0;
  for (let i = 0; i < 6; i++) {
    const leaders = cands.filter((c) => c.leading());
    assert.equal(leaders.length, 1, `sample ${i}: leaders ${leaders.map((c) => c.name).join(",") || "none"}`);
    const l = await readLease(leases, ns, lease);
    assert.equal(
      l?.spec?.holderIdentity,
      leaders[0]!.identity,
      `sample ${i}: the Lease names the reported leader`,
    );
    const renew = String(l?.spec?.renewTime);
    if (lastRenew !== undefined && renew !== lastRenew) renewsSeen++;
    lastRenew = renew;
    await sleep(800);
  }
  // Renewals go through (a MicroTime the server could not parse would be a 400 and no renewal at all).
  assert.ok(renewsSeen >= 2, `renewTime advanced ${renewsSeen} times in 6 samples`);
  t.diagnostic(`6 samples: one leader each time, renewTime advanced ${renewsSeen} times`);
}

async function start(t: TestContext, timings: Timings, prefix: string) {
  const stack = loadStack();
  const { leases, core } = kube(stack);
  const ns = await createNamespace(core, prefix);
  t.after(ns.remove);
  const logDir = mkdtempSync(path.join(tmpdir(), `lagscale-${prefix}-`));
  t.diagnostic(`candidate logs in ${logDir}`);
  const lease = "lagscale-leader";
  const a = new Candidate(stack, ns.name, lease, "cand-a", timings, logDir);
  const b = new Candidate(stack, ns.name, lease, "cand-b", timings, logDir);
  t.after(async () => {
    for (const c of [a, b]) c.kill("SIGKILL");
    await Promise.all([a.exited, b.exited]);
  });
  const first = await Promise.race([
    a.waitFor((e) => e.event === "started", "leadership").then(() => a),
    b.waitFor((e) => e.event === "started", "leadership").then(() => b),
  ]);
  const other = first === a ? b : a;
  await other.waitFor((e) => e.event === "leader", "seeing the leader");
  assert.equal(other.events.find((e) => e.event === "leader")?.leader, first.identity);
  return { leases, ns: ns.name, lease, cands: [a, b], leader: first, follower: other };
}

test("two processes: one leads; SIGKILL of the leader hands over after leaseDuration, transitions + 1", async (t) => {
  const timings: Timings = { leaseMs: 4_000, renewMs: 3_000, retryMs: 1_000 };
  const { leases, ns, lease, cands, leader, follower } = await start(t, timings, "leader-kill");
  await assertOneLeader(t, cands, leases, ns, lease);

  const before = await readLease(leases, ns, lease);
  const transitionsBefore = before?.spec?.leaseTransitions ?? 0;
  const killedAt = Date.now();
  leader.kill("SIGKILL");
  await leader.exited;
  const started = await follower.waitFor((e) => e.event === "started", "taking over", 60_000);
  const failoverMs = started.at - killedAt;
  t.diagnostic(
    `failover after SIGKILL: ${failoverMs} ms (lease ${timings.leaseMs} ms, retry ${timings.retryMs} ms)`,
  );
  console.log(`leader failover after SIGKILL: ${failoverMs} ms`);

  // Not before the killed leader's lease could have run out: its last renewal was at most one retry period
  // (plus a request) before the kill, and the follower counts leaseDuration from when it saw that renewal.
  assert.ok(failoverMs >= timings.leaseMs - timings.retryMs - 1_500, `took over too early: ${failoverMs} ms`);
  // And soon after: leaseDuration + the retry period, + up to two jittered waits and slack.
  const bound = timings.leaseMs + timings.retryMs + 2 * JITTER * timings.retryMs + SLACK_MS;
  assert.ok(failoverMs <= bound, `failover ${failoverMs} ms > ${bound} ms`);

  const after = await readLease(leases, ns, lease);
  assert.equal(after?.spec?.holderIdentity, follower.identity);
  assert.equal(after?.spec?.leaseTransitions, transitionsBefore + 1);
  assert.equal(after?.spec?.leaseDurationSeconds, 4);
  // MicroTime fields round-trip: the server returns them with microseconds; they parse to the takeover time.
  const acquire = String(after?.spec?.acquireTime);
  assert.match(acquire, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.ok(
    Math.abs(Date.parse(acquire) - started.at) < 5_000,
    `acquireTime ${acquire} vs started ${started.at}`,
  );

  assertNoOverlap(cands, new Map([[leader, killedAt]]));
  // The survivor keeps renewing on its own.
  await sleep(2 * timings.retryMs + 500);
  const later = await readLease(leases, ns, lease);
  assert.equal(later?.spec?.holderIdentity, follower.identity);
  assert.notEqual(String(later?.spec?.renewTime), String(after?.spec?.renewTime));
  assert.equal(String(later?.spec?.acquireTime), acquire, "renewals keep acquireTime");
});

test("graceful stop: the leader releases the lease and the other takes over well before leaseDuration", async (t) => {
  const timings: Timings = { leaseMs: 15_000, renewMs: 10_000, retryMs: 1_000 };
  const { leases, ns, lease, cands, leader, follower } = await start(t, timings, "leader-release");
  await assertOneLeader(t, cands, leases, ns, lease);

  const transitionsBefore = (await readLease(leases, ns, lease))?.spec?.leaseTransitions ?? 0;
  const stoppedAt = Date.now();
  leader.kill("SIGTERM");
  const exit = await leader.exited;
  assert.equal(exit.code, 0, "the stopped candidate exits cleanly");
  const stopped = leader.events.find((e) => e.event === "stopped");
  assert.ok(stopped, "the leader reported that it stopped leading");
  const started = await follower.waitFor((e) => e.event === "started", "taking over", 30_000);
  const failoverMs = started.at - stoppedAt;
  t.diagnostic(`failover after SIGTERM (released lease): ${failoverMs} ms (lease ${timings.leaseMs} ms)`);
  console.log(`leader failover after graceful stop: ${failoverMs} ms`);

  // Without the release the follower would wait out the 15 s lease; with it, one jittered retry and slack.
  assert.ok(
    failoverMs < timings.leaseMs / 2,
    `failover ${failoverMs} ms is not well below ${timings.leaseMs} ms`,
  );
  assert.ok(stopped.at <= started.at, "the old leader stopped before the new one started");
  assertNoOverlap(cands, new Map());
  const after = await readLease(leases, ns, lease);
  assert.equal(after?.spec?.holderIdentity, follower.identity);
  assert.equal(after?.spec?.leaseTransitions, transitionsBefore + 1);
  assert.equal(after?.spec?.leaseDurationSeconds, 15);
});
