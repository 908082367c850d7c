import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { startProcess, stopProcess } from "./process.js";

const dir = mkdtempSync(path.join(tmpdir(), "proc-"));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
/** Alive and not a zombie (a killed orphan stays a zombie until whoever adopted it reaps it). */
const exists = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

test("exit codes and output reach the status and the log file", async () => {
  const logFile = path.join(dir, "a", "c.log");
  const p = startProcess({ argv: ["sh", "-c", "echo out; echo err >&2; exit 3"], cwd: dir, env, logFile });
  const exit = await p.exited;
  assert.equal(exit.exitCode, 3);
  assert.equal(exit.reason, "Error");
  const log = readFileSync(logFile, "utf8");
  assert.match(log, /pod-runner: starting \["sh","-c"/);
  assert.match(log, /^out$/m);
  assert.match(log, /^err$/m);
  assert.match(log, /pod-runner: exited with 3/);
  assert.equal((await startProcess({ argv: ["true"], cwd: dir, env, logFile }).exited).reason, "Completed");
});

test("a command that does not exist is a StartError, not a crash", async () => {
  const exit = await startProcess({
    argv: ["/no/such/program"],
    cwd: dir,
    env,
    logFile: path.join(dir, "b.log"),
  }).exited;
  assert.equal(exit.exitCode, 128);
  assert.equal(exit.reason, "StartError");
  assert.match(exit.message ?? "", /ENOENT/);
});

test("stop: SIGTERM to the process group, and what is left after the grace period is killed", async () => {
  const logFile = path.join(dir, "c.log");
  // a child that ignores SIGTERM in the background, and a parent that exits on it
  const p = startProcess({
    argv: [
      "sh",
      "-c",
      "(trap '' TERM; exec sleep 30) & echo child $!; trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ],
    cwd: dir,
    env,
    logFile,
  });
  await new Promise((r) => setTimeout(r, 300));
  const child = Number(/child (\d+)/.exec(readFileSync(logFile, "utf8"))?.[1]);
  assert.ok(exists(child));
  const exit = await stopProcess(p, 5_000);
  assert.equal(exit.exitCode, 0, "the main process ended on SIGTERM by itself");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(exists(child), false, "the container's leftover process went with it");

  const stubborn = startProcess({ argv: ["sh", "-c", "trap '' TERM; sleep 30"], cwd: dir, env, logFile });
  await new Promise((r) => setTimeout(r, 200));
  const t0 = Date.now();
  const killed = await stopProcess(stubborn, 500);
  assert.ok(Date.now() - t0 >= 450, "waited the grace period");
  assert.equal(killed.exitCode, 137);
  assert.equal(killed.signal, 9);
});
