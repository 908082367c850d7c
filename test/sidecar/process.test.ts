/**
 * The sidecar as a process (sidecar/main.ts through tsx), with nothing to talk to: no Kafka broker and no
 * controller listen on the ports it is given. It must keep running, say why in its logs, keep /healthz at
 * 200, and exit 0 at once on SIGTERM; only an unusable environment makes it exit, with code 2 and the reason.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../support/wait.js";
import { tokenFile } from "./support.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A port nothing listens on (taken from the kernel, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function start(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", "sidecar/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

test("without Kafka or controller it keeps running, healthy, and exits 0 on SIGTERM", async (t) => {
  const [kafkaPort, controllerPort, healthPort] = [await freePort(), await freePort(), await freePort()];
  const { child, output } = start({
    POD_NAME: "pod-a",
    POD_NAMESPACE: "ns",
    POD_IP: "127.0.1.41",
    LAGSCALE_SCALED_OBJECT: "so",
    KAFKA_BOOTSTRAP_SERVERS: `127.0.0.1:${kafkaPort}`,
    LAGSCALE_CONSUMER_GROUP: "g",
    LAGSCALE_LAG_THRESHOLD: "10",
    LAGSCALE_REPORT_URL: `http://127.0.0.1:${controllerPort}/v1/reports`,
    LAGSCALE_TOKEN_FILE: tokenFile(),
    LAGSCALE_METRICS_PORT: "0",
    LAGSCALE_HEALTH_PORT: String(healthPort),
  });
  t.after(() => child.kill("SIGKILL"));
  await waitFor(
    "the Kafka failure in the logs",
    () => (output().includes("cannot read the consumer group from Kafka") ? true : undefined),
    30_000,
  );
  assert.equal(child.exitCode, null, "still running");
  const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
  assert.equal(health.status, 200);
  child.kill("SIGTERM");
  assert.equal(await exited(child), 0, output());
});

test("an unusable environment exits 2 naming every problem", async () => {
  const { child, output } = start({ POD_NAME: "Pod_A", LAGSCALE_LAG_THRESHOLD: "zero" });
  assert.equal(await exited(child), 2);
  for (const expected of [
    'POD_NAME=\\"Pod_A\\" is not a Kubernetes object name',
    "POD_IP is not set",
    "KAFKA_BOOTSTRAP_SERVERS is not set",
    "LAGSCALE_REPORT_URL is not set",
    "must be a whole number above 0",
  ]) {
    assert.ok(output().includes(expected), `${expected} in ${output()}`);
  }
});
