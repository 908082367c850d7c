// The loop on a fake PodKafka and a fake pusher (no broker, no server): what it reports, when, and that a
// Kafka failure never stops it. The real parts are in test/sidecar/sidecar.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import kafkajs from "kafkajs";
import { createLogger } from "../core/log.js";
import type { PartitionOffsets, TopicPartition } from "../core/lag/index.js";
import { parseReport, type SidecarReport } from "../core/reports/schema.js";
import type { GroupDescription, PodKafka } from "./kafka.js";
import { SidecarLoop, type LoopConfig } from "./loop.js";
import { SidecarMetrics } from "./metrics.js";

const { AssignerProtocol } = kafkajs;

const CONFIG: LoopConfig = {
  pod: { namespace: "ns", name: "pod-a", ip: "10.0.0.1" },
  scaledObject: "so",
  consumerGroup: "g",
  topic: "t",
  lagThreshold: 10,
  offsetResetPolicy: "latest",
  clientIdPrefix: undefined,
  fastIntervalMs: 20,
  slowIntervalMs: 400,
  stallWindowMs: 30_000,
  rateWindowMs: 10_000,
  endOffsetWatch: false,
};

const GROUP: GroupDescription = {
  state: "Stable",
  protocolType: "consumer",
  members: [
    {
      memberId: "m1",
      clientId: "app",
      clientHost: "/10.0.0.1",
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: { t: [0] },
        userData: Buffer.alloc(0),
      }),
    },
  ],
};

/** A fake Kafka whose log-end offset the test moves; committed stays 0. */
function fakeKafka(state: { end: number; fail: number }) {
  const calls = { describe: 0, offsets: 0 };
  const kafka: PodKafka = {
    describeGroup: () => {
      calls.describe++;
      if (state.fail > 0) {
        state.fail--;
        return Promise.reject(new Error("connection refused"));
      }
      return Promise.resolve(GROUP);
    },
    groupListed: () => Promise.resolve(false),
    readOffsets: (_g, partitions: readonly TopicPartition[]) => {
      calls.offsets++;
      return Promise.resolve(
        partitions.map((p): PartitionOffsets => ({ ...p, committed: 0, latest: state.end })),
      );
    },
    requests: () => ({
      DescribeGroups: calls.describe,
      OffsetFetch: calls.offsets,
      ListOffsets: calls.offsets,
    }),
    close: () => Promise.resolve(),
  };
  return { kafka, calls };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger("test", "silent");

/** Polls until `check` holds; false when it did not within `ms`. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await tick(10);
  }
  return true;
}

test("reports at the fast interval while there is lag, slow when idle, urgent when lag crosses the threshold", async () => {
  const state = { end: 0, fail: 0 };
  const { kafka } = fakeKafka(state);
  const reports: { report: SidecarReport; urgent: boolean }[] = [];
  const loop = new SidecarLoop({
    config: { ...CONFIG, slowIntervalMs: 2_000 },
    kafka,
    pusher: { offer: (report, urgent) => reports.push({ report, urgent }) },
    logger,
    random: () => 0,
  });
  loop.start();
  assert.ok(await within(1_000, () => reports.length === 1));
  assert.equal(reports[0]!.report.state, "idle");
  // Idle: the next reading waits for the slow interval (2 s).
  await tick(100);
  assert.equal(reports.length, 1);
  state.end = 50;
  assert.ok(await within(5_000, () => reports.some((r) => r.urgent)), "an urgent report");
  const urgent = reports.filter((r) => r.urgent);
  assert.equal(urgent.length, 1);
  assert.equal(urgent[0]!.report.lag, 50);
  assert.equal(urgent[0]!.report.urgent, true);
  // With lag, three more readings come sooner than one slow interval could bring them.
  const after = reports.length;
  assert.ok(await within(1_500, () => reports.length - after >= 3), "fast interval while there is lag");
  await loop.stop();
  for (const r of reports) assert.ok(parseReport(r.report).ok);
});

test("Kafka errors are retried and leave /healthz healthy", async () => {
  const state = { end: 5, fail: 2 };
  const { kafka, calls } = fakeKafka(state);
  const reports: SidecarReport[] = [];
  const metrics = new SidecarMetrics(() => undefined);
  const loop = new SidecarLoop({
    config: CONFIG,
    kafka,
    pusher: { offer: (report) => reports.push(report) },
    metrics,
    logger,
    random: () => 0,
  });
  loop.start();
  // Backoffs with random 0: 250 ms, then 500 ms.
  for (let i = 0; i < 100 && reports.length === 0; i++) await tick(20);
  assert.equal(loop.health(), undefined);
  await loop.stop();
  assert.ok(calls.describe >= 3);
  assert.ok(reports.length >= 1);
  const text = await metrics.registry.metrics();
  assert.match(text, /lagscale_sidecar_kafka_errors_total 2/);
  assert.match(text, /lagscale_sidecar_kafka_requests_total\{api="DescribeGroups"\} \d/);
  assert.match(text, /lagscale_sidecar_kafka_requests_per_reading 3/);
});

test("with the end-offset watch an idle pod reads offsets only, and reports when they move", async () => {
  const state = { end: 0, fail: 0 };
  const { kafka, calls } = fakeKafka(state);
  const reports: { report: SidecarReport; urgent: boolean }[] = [];
  const loop = new SidecarLoop({
    config: { ...CONFIG, endOffsetWatch: true, slowIntervalMs: 60_000 },
    kafka,
    pusher: { offer: (report, urgent) => reports.push({ report, urgent }) },
    logger,
  });
  loop.start();
  await tick(200);
  assert.equal(calls.describe, 1);
  assert.ok(calls.offsets >= 3, `offsets read ${calls.offsets} times`);
  assert.equal(reports.length, 1);
  state.end = 20;
  await tick(100);
  await loop.stop();
  assert.equal(reports[1]?.urgent, true);
  assert.equal(reports[1]?.report.lag, 20);
});

test("stop ends the loop during a long wait", async () => {
  const { kafka } = fakeKafka({ end: 0, fail: 0 });
  const loop = new SidecarLoop({
    config: { ...CONFIG, slowIntervalMs: 600_000 },
    kafka,
    pusher: { offer: () => undefined },
    logger,
  });
  loop.start();
  await tick(50);
  const started = Date.now();
  await loop.stop();
  assert.ok(Date.now() - started < 1_000);
});
