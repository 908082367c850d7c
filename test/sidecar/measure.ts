/**
 * What the sidecar costs, as it ships (compiled JS from `npm run build:sidecar`, default settings): it runs
 * as a child process beside one consumer on the stack's broker, reporting to a stand-in receiver, first
 * while the group is idle, then while the pod has lag. Prints RSS, CPU and Kafka requests per reading.
 * Figures, not assertions: the machine is shared and noisy.
 *
 *   npm run build:sidecar
 *   LAGSCALE_STACK_FILE=.lagscale/stack.json npx tsx test/sidecar/measure.ts [idleSeconds] [busySeconds]
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { createTopic, uniqueName } from "../stack/kafka/client.js";
import { waitFor } from "../support/wait.js";
import { brokers, FakeReceiver, startConsumer, tokenFile } from "./support.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = path.join(root, "dist", "sidecar", "main.js");
const IDLE_S = Number(process.argv[2] ?? 60);
const BUSY_S = Number(process.argv[3] ?? 20);
const POD_IP = "127.0.1.31";
const METRICS_PORT = 19464;
const HEALTH_PORT = 19465;
const TICKS = 100; // USER_HZ on Linux

/** RSS (bytes) and CPU time (s) of a process, from /proc. */
function sample(pid: number): { rss: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS;
  return { rss: rssKb * 1024, cpu };
}

async function metric(name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const [key, value] = line.split(" ");
    out.set(key!, Number(value));
  }
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

async function phase(pid: number, seconds: number, label: string, receiver: FakeReceiver): Promise<void> {
  const byApi0 = await metric("lagscale_sidecar_kafka_requests_total{");
  const requests0 = sum(byApi0);
  const reports0 = receiver.received.length;
  const s0 = sample(pid);
  const t0 = Date.now();
  let maxRss = s0.rss;
  while (Date.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    maxRss = Math.max(maxRss, sample(pid).rss);
  }
  const s1 = sample(pid);
  const wall = (Date.now() - t0) / 1000;
  const byApi1 = await metric("lagscale_sidecar_kafka_requests_total{");
  const requests = sum(byApi1) - requests0;
  const apis = [...byApi1]
    .map(([k, v]) => [/api="([^"]+)"/.exec(k)?.[1] ?? k, v - (byApi0.get(k) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([api, n]) => `${api} ${n}`)
    .join(", ");
  const reports = receiver.received.length - reports0;
  console.log(
    `sidecar ${label}: ${wall.toFixed(0)} s, rss ${mib(s1.rss)} MiB (max ${mib(maxRss)}), ` +
      `cpu ${(((s1.cpu - s0.cpu) / wall) * 100).toFixed(2)} % of a core, ${reports} reports, ` +
      `${requests} Kafka requests (${(requests / wall).toFixed(2)}/s, ${reports > 0 ? (requests / reports).toFixed(2) : "-"} per report: ${apis})`,
  );
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build:sidecar\` first`);
  const kafka = new Kafka({ clientId: "sidecar-measure", brokers: brokers(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  const topic = uniqueName("sidecar-measure");
  const groupId = uniqueName("sidecar-measure-group");
  await createTopic(admin, topic, 3);
  const consumer = await startConsumer(POD_IP, groupId, topic);
  const receiver = new FakeReceiver();
  const url = await receiver.start();
  await producer.send({ topic, messages: [0, 1, 2].map((partition) => ({ partition, value: "prime" })) });
  await waitFor("three messages committed", async () => {
    const [o] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return o!.partitions.every((p) => p.offset === "1") ? true : undefined;
  });

  // MEASURE_NODE_ARGS: extra node flags for the sidecar, e.g. `--cpu-prof` to see where its CPU goes.
  const nodeArgs = (process.env.MEASURE_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const child = spawn(process.execPath, [...nodeArgs, MAIN], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      PATH: process.env.PATH,
      POD_NAME: "measure-pod",
      POD_NAMESPACE: "measure",
      POD_IP,
      LAGSCALE_SCALED_OBJECT: "measure",
      KAFKA_BOOTSTRAP_SERVERS: brokers().join(","),
      LAGSCALE_CONSUMER_GROUP: groupId,
      LAGSCALE_TOPIC: topic,
      LAGSCALE_LAG_THRESHOLD: "10",
      LAGSCALE_REPORT_URL: url.href,
      LAGSCALE_TOKEN_FILE: tokenFile(),
      LAGSCALE_METRICS_PORT: String(METRICS_PORT),
      LAGSCALE_HEALTH_PORT: String(HEALTH_PORT),
      LOG_LEVEL: "warn",
    },
  });
  child.stdout.on("data", (d: Buffer) => process.stdout.write(`  sidecar log: ${d.toString()}`));
  try {
    await waitFor("the first report", () => (receiver.received.length > 0 ? true : undefined), 30_000);
    console.log(`sidecar start: rss ${mib(sample(child.pid!).rss)} MiB after the first report`);
    await phase(child.pid!, IDLE_S, "idle", receiver);
    consumer.consumer.pause([{ topic }]);
    await producer.send({ topic, messages: [0, 1, 2].map((partition) => ({ partition, value: "lag" })) });
    await waitFor("a report with lag", () =>
      (receiver.latest("measure-pod")?.lag ?? 0) > 0 ? true : undefined,
    );
    await phase(child.pid!, BUSY_S, "with lag", receiver);
    const health = await fetch(`http://127.0.0.1:${HEALTH_PORT}/healthz`);
    console.log(`sidecar healthz: ${health.status}`);
  } finally {
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      child.once("exit", (c) => resolve(c));
      child.kill("SIGTERM");
    });
    console.log(`sidecar SIGTERM: exit code ${code} after ${Date.now() - t0} ms`);
    await consumer.stop();
    await receiver.stop();
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
  if (receiver.invalid.length > 0) throw new Error(`invalid bodies: ${receiver.invalid.join("\n")}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
