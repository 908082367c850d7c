/**
 * The end-offset watch on the local stack (real broker, real API server, the controller as a child process):
 * with `pollingInterval: 30`, messages produced just after a poll make the controller write `/scale` long
 * before the next poll would, from 0 replicas (activation, then the HPA step at once) and from 1 replica (a
 * burst calling for 5). A second controller with the watch off (`--end-offset-watch-interval=0`) sees the
 * same burst only at the next poll, which shows this test can fail.
 *
 * Not a speed test: it checks causes and order. Polls fall on multiples of 30 s of the wall clock
 * (loops.ts), so the messages are produced 2-6 s after one; "before the poll" means a `/scale` write more
 * than 20 s before the next one, and the controller's log says the evaluation was asked for by the watch.
 * The consumer pods only sleep: the group's lag stays what was produced, and what is checked is the count.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { pollPhaseMs } from "../../controller/scaledobject/loops.js";
import { createTopic } from "../stack/kafka/index.js";
import { sleep } from "../stack/process.js";
import {
  commitAtEnd,
  createDeployment,
  createNamespace,
  createScaledObject,
  deploymentReplicas,
  getScaledObject,
  condition,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  produce,
  scaledObject,
  sleeperDeployment,
  startController,
  withAdmin,
  type ControllerProcess,
  type LogLine,
} from "../support/controller.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

const POLL_S = 30;
const POLL_MS = POLL_S * 1000;

interface Case {
  ns: string;
  topic: string;
  startReplicas: number;
  controller: ControllerProcess;
  /** [time, spec.replicas] samples. */
  samples: [number, number][];
  /** The ScaledObject's name. */
  name: string;
}

/**
 * A ScaledObject name in `ns` whose polls fall at phase 0 of the interval (loops.ts spreads objects over
 * sub-slots by a hash of namespace/name), so that the three cases poll at the same, known times.
 */
function nameAtPhaseZero(ns: string): string {
  for (let i = 0; ; i++) {
    const name = `consumer-${i}`;
    if (pollPhaseMs(`${ns}/${name}`, POLL_MS) === 0) return name;
  }
}

function scaledLines(c: ControllerProcess, k: Case): LogLine[] {
  return c.logs.filter((l) => l.msg === "scaled" && l.scaledObject === `${k.ns}/${k.name}`);
}

test("end-offset watch: a burst between polls scales before the next poll, from 0 and from 1; with the watch off it waits for the poll", async (t) => {
  const stack = loadStack();
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const k = kafka(stack.bootstrapServers);

  const nsFromZero = await createNamespace(stack, "so-early-zero");
  t.after(nsFromZero.remove);
  const nsFromOne = await createNamespace(stack, "so-early-one");
  t.after(nsFromOne.remove);
  const nsOff = await createNamespace(stack, "so-early-off");
  t.after(nsOff.remove);

  const watched = await startController({
    stack,
    name: `early-${nsFromZero.name}`,
    watchNamespaces: [nsFromZero.name, nsFromOne.name],
  });
  t.after(async () => {
    await watched.stop();
  });
  const unwatched = await startController({
    stack,
    name: `early-off-${nsOff.name}`,
    watchNamespaces: [nsOff.name],
    extraArgs: ["--end-offset-watch-interval=0"],
  });
  t.after(async () => {
    await unwatched.stop();
  });

  const cases: Case[] = [
    { ns: nsFromZero.name, startReplicas: 0, controller: watched },
    { ns: nsFromOne.name, startReplicas: 1, controller: watched },
    { ns: nsOff.name, startReplicas: 0, controller: unwatched },
  ].map((c) => ({ ...c, topic: `orders-${c.ns}`, samples: [], name: nameAtPhaseZero(c.ns) }));

  for (const c of cases) {
    const group = `g-${c.ns}`;
    await withAdmin(k, async (admin) => {
      await createTopic(admin, c.topic, 5);
      // Lag 0 to begin with (a group with nothing committed counts 1 per partition under `latest`).
      await commitAtEnd(admin, group, c.topic);
    });
    await createDeployment(rest, sleeperDeployment(c.ns, "consumer", c.startReplicas));
    await createScaledObject(
      rest,
      scaledObject({
        namespace: c.ns,
        name: c.name,
        target: "consumer",
        spec: {
          pollingInterval: POLL_S,
          cooldownPeriod: 300,
          // From 1: no idle count, so that the inactive target stays at minReplicaCount until the burst.
          ...(c.startReplicas === 0 ? { idleReplicaCount: 0 } : {}),
          minReplicaCount: 1,
          maxReplicaCount: 5,
        },
        triggers: [
          kafkaTrigger({ brokers: stack.bootstrapServers, group, topic: c.topic, lagThreshold: 10 }),
        ],
      }),
    );
  }
  for (const c of cases) {
    await waitFor(
      `ScaledObject ${c.ns}/${c.name} to be Ready`,
      async () =>
        condition(await getScaledObject(rest, c.ns, c.name), "Ready") === "True" ? true : undefined,
      30_000,
    );
    assert.equal(
      (await deploymentReplicas(rest, c.ns, "consumer")).spec,
      c.startReplicas,
      "no lag: no change",
    );
  }

  // Produce 2-6 s after a poll, so that the next one is at least 24 s away.
  for (;;) {
    const phase = Date.now() % POLL_MS;
    if (phase >= 2000 && phase < 6000) break;
    await sleep(200);
  }
  const before = cases.map((c) => scaledLines(c.controller, c).length);
  const producedAt = Date.now();
  const nextPoll = Math.ceil(producedAt / POLL_MS) * POLL_MS;
  await Promise.all(cases.map((c) => produce(k, c.topic, 100)));

  const sampler = setInterval(() => {
    for (const c of cases) {
      deploymentReplicas(rest, c.ns, "consumer").then(
        (d) => c.samples.push([Date.now(), d.spec]),
        () => undefined,
      );
    }
  }, 250);
  t.after(() => clearInterval(sampler));

  const [fromZero, fromOne, off] = cases as [Case, Case, Case];
  for (const c of [fromZero, fromOne]) {
    const at = await waitFor(
      `${c.ns}: 5 replicas`,
      async () => ((await deploymentReplicas(rest, c.ns, "consumer")).spec === 5 ? Date.now() : undefined),
      nextPoll + 20_000 - Date.now(),
      100,
    );
    assert.ok(
      at < nextPoll - 15_000,
      `${c.ns}: 5 replicas ${((at - producedAt) / 1000).toFixed(1)} s after the produce, ${((nextPoll - at) / 1000).toFixed(1)} s before the next poll`,
    );
  }
  // With the watch off, the same burst is seen at the poll, not before.
  const offAt = await waitFor(
    `${off.ns}: activation at the poll`,
    async () => ((await deploymentReplicas(rest, off.ns, "consumer")).spec > 0 ? Date.now() : undefined),
    nextPoll + 20_000 - Date.now(),
    100,
  );
  clearInterval(sampler);
  assert.ok(
    offAt >= nextPoll,
    `watch off: first /scale write ${((offAt - producedAt) / 1000).toFixed(1)} s after the produce, the poll was due ${((nextPoll - producedAt) / 1000).toFixed(1)} s after it`,
  );
  assert.ok(
    off.samples.filter(([time]) => time < nextPoll).every(([, n]) => n === 0),
    `watch off: no replica before the poll (${off.samples.map(([, n]) => n).join(",")})`,
  );

  // Causes: the watch asked for the evaluations that scaled; the unwatched controller only polled.
  const zeroScaled = scaledLines(watched, fromZero).slice(before[0]);
  assert.deepEqual(
    zeroScaled.map((l) => [l.from, l.to, l.early]),
    [
      [0, 1, "activation"],
      [1, 5, "scale-up"],
    ],
    "from 0: activation asked for by the watch, then the HPA step at the next tick",
  );
  const oneScaled = scaledLines(watched, fromOne).slice(before[1]);
  assert.deepEqual(
    oneScaled.map((l) => [l.from, l.to, l.early]),
    [[1, 5, "scale-up"]],
  );
  const offScaled = scaledLines(unwatched, off).slice(before[2]);
  assert.equal(offScaled[0]?.early, undefined, "watch off: the poll scaled");
  assert.ok(
    watched.logs.some(
      (l) =>
        l.msg === "early evaluation: log-end offsets grew between polls" &&
        l.scaledObject === `${fromZero.ns}/${fromZero.name}` &&
        l.reason === "activation" &&
        typeof l.growth === "number" &&
        l.growth > 0,
    ),
    "the watch's log line names the object, the reason and the growth",
  );

  const metrics = await watched.metrics();
  assert.match(metrics, /lagscale_early_evaluations_total\{reason="activation"\} [1-9]/);
  assert.match(metrics, /lagscale_early_evaluations_total\{reason="scale-up"\} [1-9]/);
  assert.match(metrics, /lagscale_end_offset_watch_requests_total\{api="ListOffsets"\} [1-9]/);
  const offMetrics = await unwatched.metrics();
  assert.doesNotMatch(offMetrics, /lagscale_end_offset_watch_requests_total\{/);

  console.log(
    [
      `early: produced ${((nextPoll - producedAt) / 1000).toFixed(1)} s before the next poll`,
      `  ${off.ns} (watch off): first /scale write ${((offAt - producedAt) / 1000).toFixed(1)} s after the produce`,
      ...[fromZero, fromOne].map((c) => {
        const firstChange = c.samples.find(([, n]) => n !== c.startReplicas);
        const five = c.samples.find(([, n]) => n === 5);
        return `  ${c.ns}: first change ${firstChange ? ((firstChange[0] - producedAt) / 1000).toFixed(1) : "-"} s, 5 replicas ${five ? ((five[0] - producedAt) / 1000).toFixed(1) : "-"} s after the produce`;
      }),
    ].join("\n"),
  );
});
