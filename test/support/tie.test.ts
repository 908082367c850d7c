/**
 * killWhenThisProcessEnds, with real processes (no stack needed): a parent that ties a child to itself and is
 * then SIGKILLed (no exit handler runs) takes the child with it; a parent that lives on leaves it running.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.js";

const tie = path.join(path.dirname(fileURLToPath(import.meta.url)), "tie.ts");

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A parent process that starts `sleep 600` tied to itself and prints the sleeper's pid. */
async function parentWithTiedChild(): Promise<{ parent: ReturnType<typeof spawn>; child: number }> {
  const script = `
    import { spawn } from "node:child_process";
    import { killWhenThisProcessEnds } from ${JSON.stringify(tie)};
    const c = spawn("sleep", ["600"], { stdio: "ignore" });
    killWhenThisProcessEnds(c.pid);
    console.log(c.pid);
    setInterval(() => {}, 1000);
  `;
  const parent = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const child = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
    parent.once("exit", (code) => reject(new Error(`parent exited early (${code})`)));
  });
  return { parent, child };
}

test("a tied child dies with its parent, even when the parent is SIGKILLed", async () => {
  const { parent, child } = await parentWithTiedChild();
  assert.ok(alive(child), "the child runs while its parent does");
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(alive(child), "and keeps running while the parent lives");
  parent.kill("SIGKILL");
  await waitFor("the tied child to be gone", async () => (alive(child) ? undefined : true), 10_000);
});
