/**
 * What the sidecar costs as it ships: the compiled JS (`npm run build:sidecar`, built here when missing or
 * older than the sources) in a process of its own, default settings, beside one consumer on the stack's
 * broker, reporting to a stand-in receiver; first while the group is idle, then while the pod has lag. RSS
 * and CPU come from /proc of that process alone; Kafka requests from its own metric. Figures, not
 * assertions: the machine is shared and noisy. Used by `npm run bench -- sidecar` and test/sidecar/measure.ts.
 */
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { createTopic, uniqueName } from "../stack/kafka/client.js";
import { repoRoot } from "../stack/paths.js";
import { waitFor } from "../support/wait.js";
import { brokers, FakeReceiver, startConsumer, tokenFile } from "../sidecar/support.js";

const run = promisify(execFile);
export const SIDECAR_MAIN = path.join(repoRoot, "dist", "sidecar", "main.js");
const POD_IP = "127.0.1.31";
const METRICS_PORT = 19464;
const HEALTH_PORT = 19465;
const TICKS = 100; // USER_HZ on Linux

/** RSS (bytes) and CPU time (s) of a process, from /proc. */
export function sampleProcess(pid: number): { rss: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) ".
  const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS;
  return { rss: rssKb * 1024, cpu };
}

/** Sample values of one metric family in Prometheus text, by full series key (name and labels). */
export function metricSeries(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

export const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** Builds the compiled sidecar (`npm run build:sidecar`) into dist/. */
export async function buildSidecar(): Promise<void> {
  const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-p", path.join(repoRoot, "sidecar", "tsconfig.build.json")], {
      timeout: 300_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; message: string };
    throw new Error(`building the sidecar failed: ${e.stdout || e.message}`, { cause: err });
  }
}

export interface PhaseCost {
  label: string;
  seconds: number;
  /** At the end of the phase, and the largest seen (sampled every second). */
  rss: number;
  maxRss: number;
  /** Share of one core, percent. */
  cpuPercent: number;
  reports: number;
  kafkaRequests: number;
  byApi: string;
}

export interface SidecarCost {
  startRss: number;
  idle: PhaseCost;
  withLag: PhaseCost;
  healthz: number;
  sigtermExit: number | null;
  sigtermMs: number;
}

async function sidecarRequests(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  return metricSeries(text, "lagscale_sidecar_kafka_requests_total");
}

async function phase(
  pid: number,
  seconds: number,
  label: string,
  receiver: FakeReceiver,
): Promise<PhaseCost> {
  const byApi0 = await sidecarRequests();
  const reports0 = receiver.received.length;
  const s0 = sampleProcess(pid);
  const t0 = Date.now();
  let maxRss = s0.rss;
  while (Date.now() - t0 < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    maxRss = Math.max(maxRss, sampleProcess(pid).rss);
  }
  const s1 = sampleProcess(pid);
  const wall = (Date.now() - t0) / 1000;
  const byApi1 = await sidecarRequests();
  const byApi = [...byApi1]
    .map(([k, v]) => [/api="([^"]+)"/.exec(k)?.[1] ?? k, v - (byApi0.get(k) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([api, n]) => `${api} ${n}`)
    .join(", ");
  return {
    label,
    seconds: wall,
    rss: s1.rss,
    maxRss: Math.max(maxRss, s1.rss),
    cpuPercent: ((s1.cpu - s0.cpu) / wall) * 100,
    reports: receiver.received.length - reports0,
    kafkaRequests: total(byApi1) - total(byApi0),
    byApi,
  };
}

/** Runs the compiled sidecar idle for `idleS` seconds, then with lag for `busyS` seconds. */
export async function measureSidecarCost(
  idleS: number,
  busyS: number,
  nodeArgs: string[] = [],
): Promise<SidecarCost> {
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

  const child = spawn(process.execPath, [...nodeArgs, SIDECAR_MAIN], {
    cwd: repoRoot,
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
  child.stdout.on("data", (d: Buffer) => process.stderr.write(`  sidecar log: ${d.toString()}`));
  let result: Omit<SidecarCost, "sigtermExit" | "sigtermMs"> | undefined;
  let sigtermExit: number | null = null;
  let sigtermMs = 0;
  try {
    await waitFor("the first report", () => (receiver.received.length > 0 ? true : undefined), 30_000);
    const startRss = sampleProcess(child.pid!).rss;
    const idle = await phase(child.pid!, idleS, "idle", receiver);
    consumer.consumer.pause([{ topic }]);
    await producer.send({ topic, messages: [0, 1, 2].map((partition) => ({ partition, value: "lag" })) });
    await waitFor("a report with lag", () =>
      (receiver.latest("measure-pod")?.lag ?? 0) > 0 ? true : undefined,
    );
    const withLag = await phase(child.pid!, busyS, "with lag", receiver);
    const healthz = (await fetch(`http://127.0.0.1:${HEALTH_PORT}/healthz`)).status;
    result = { startRss, idle, withLag, healthz };
  } finally {
    const t0 = Date.now();
    sigtermExit = await new Promise<number | null>((resolve) => {
      child.once("exit", (c) => resolve(c));
      child.kill("SIGTERM");
    });
    sigtermMs = Date.now() - t0;
    await consumer.stop();
    await receiver.stop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  }
  if (receiver.invalid.length > 0) throw new Error(`invalid bodies: ${receiver.invalid.join("\n")}`);
  return { ...result, sigtermExit, sigtermMs };
}
