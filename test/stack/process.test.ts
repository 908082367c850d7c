/**
 * Process helpers of the control plane, on real child processes: stopping escalates to SIGKILL when SIGTERM is
 * ignored, a pid is only "ours" while its command line matches, and the lock serializes holders and takes
 * over from a dead one. Needs no Kafka or Kubernetes.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { acquireLock, freePorts, isAlive, sleep, spawnDetached, stopProcess } from "./process.js";

const dir = mkdtempSync(path.join(tmpdir(), "lagscale-proc-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("processes", () => {
  it("stops a process with SIGTERM, and one that ignores SIGTERM with SIGKILL after the grace period", async () => {
    const log = path.join(dir, "p.log");
    const polite = spawnDetached("sleep", ["30"], log);
    const stubborn = spawnDetached(
      "bash",
      ["-c", "trap '' TERM; echo armed; while :; do sleep 0.1; done"],
      log,
    );
    await sleep(300);
    assert.equal(isAlive(polite.pid, "sleep"), true);
    assert.equal(
      isAlive(polite.pid, "kube-apiserver"),
      false,
      "a pid whose command line differs is not ours",
    );

    let t = Date.now();
    await stopProcess(polite.pid, "sleep", 5_000);
    assert.equal(isAlive(polite.pid, "sleep"), false);
    assert.ok(Date.now() - t < 4_000);

    t = Date.now();
    await stopProcess(stubborn.pid, "bash", 1_000);
    assert.equal(isAlive(stubborn.pid, "bash"), false);
    assert.ok(Date.now() - t >= 1_000, "SIGKILL came only after the grace period");
  });

  it("leaves a process alone when its command line is not the expected one", async () => {
    const p = spawnDetached("sleep", ["30"], path.join(dir, "q.log"));
    try {
      await stopProcess(p.pid, "etcd", 500);
      assert.equal(isAlive(p.pid), true);
    } finally {
      await stopProcess(p.pid, "sleep", 2_000);
    }
  });

  it("lets one holder at a time have the lock, and takes over one left by a dead process", async () => {
    const lock = path.join(dir, "lock");
    const order: string[] = [];
    const releaseA = await acquireLock(lock, () => undefined, "test");
    const b = acquireLock(lock, () => undefined, "test").then((release) => {
      order.push("b");
      release();
    });
    await sleep(700);
    order.push("a");
    releaseA();
    await b;
    assert.deepEqual(order, ["a", "b"]);

    const dead = spawnDetached("true", [], path.join(dir, "t.log"));
    await sleep(300);
    mkdirSync(lock);
    writeFileSync(path.join(lock, "pid"), String(dead.pid));
    const release = await acquireLock(lock, () => undefined, "test", 5_000);
    release();
  });

  it("hands out distinct free ports", async () => {
    const ports = await freePorts(4);
    assert.equal(new Set(ports).size, 4);
    for (const p of ports) assert.ok(p > 0 && p < 65536);
  });
});
