import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { acquireLock, lockFile, processStartTime } from "./lock.js";

test("a second runner for the same node and state folder is refused while the first lives", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lock-"));
  mkdirSync(path.dirname(lockFile(dir, "node-a")), { recursive: true });
  const other = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    const pid = other.pid!;
    const start = processStartTime(pid);
    assert.ok(start);
    writeFileSync(lockFile(dir, "node-a"), `${pid} ${start}\n`);
    assert.throws(
      () => acquireLock(dir, "node-a"),
      new RegExp(`a pod runner \\(pid ${pid}\\) already plays node node-a`),
    );
    // another node is fine
    const release = acquireLock(dir, "node-b");
    release();
    assert.equal(existsSync(lockFile(dir, "node-b")), false);
    // a pid reused by another process (different start time) does not hold the lock
    writeFileSync(lockFile(dir, "node-a"), `${pid} 1\n`);
    const again = acquireLock(dir, "node-a");
    assert.ok(existsSync(lockFile(dir, "node-a")));
    again();
  } finally {
    other.kill("SIGKILL");
  }
  // a dead owner does not hold it either
  await new Promise((r) => other.once("exit", r));
  writeFileSync(lockFile(dir, "node-a"), `${other.pid} ${processStartTime(process.pid)}\n`);
  acquireLock(dir, "node-a")();
});
