/**
 * One ScaledObject never delays another (real broker, real API server, the controller as a child process):
 * two ScaledObjects polled every second fall due in the same batch; one names a "broker" that accepts
 * connections and never answers (test/support/silent-listener.ts, failure injection), so its read waits for
 * the reader's timeouts. Lag produced for the healthy one while that read hangs must be acted on at the
 * healthy one's next poll, not after the hanging read ends.
 *
 * Not a speed test: it checks order. The healthy object's `scaled` line must come before the stuck object's
 * `evaluated` line that ends the read hanging when the lag was produced (a connection timeout, seconds). Before each object's
 * evaluation was released on its own, the healthy object waited for the whole batch and the order was the
 * other way round. A round whose produce lands less than a poll (and a margin) before the hanging read ends
 * (a test process slowed by its neighbours) proves nothing either way; the test then tries the next shared
 * slot with more lag, up to ROUNDS times.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { nextAlignedTime, pollPhaseMs } from "../../controller/scaledobject/loops.js";
import {
  commitAtEnd,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  sleeperDeployment,
  startController,
  waitForReplicas,
  withAdmin,
  type LogLine,
} from "../support/controller.js";
import { uniqueName } from "../stack/kafka/client.js";
import { silentListener } from "../support/silent-listener.js";
import { loadStack } from "../support/stack.js";

const STUCK_POLL_MS = 10_000;
const HEALTHY_POLL_MS = 1000;
const MARGIN_MS = 1000;
/** Rounds of lag tried; the healthy object's maxReplicaCount leaves room for one replica more each. */
const ROUNDS = 3;

test("a ScaledObject whose broker never answers does not hold back another one due in the same batch", async (t) => {
  const stack = loadStack();
  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-isolation");
  t.after(() => ns.remove());
  const silent = await silentListener();
  t.after(() => silent.close());

  const brokers = stack.kafka.bootstrapServers;
  const topic = uniqueName("isolation");
  const group = uniqueName("isolation-g");
  const k = kafka(brokers);
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 3);
    await commitAtEnd(admin, group, topic);
  });
  await createDeployment(rest, sleeperDeployment(ns.name, "healthy", 0));
  await createDeployment(rest, sleeperDeployment(ns.name, "stuck", 0));
  const spec = {
    pollingInterval: HEALTHY_POLL_MS / 1000,
    minReplicaCount: 0,
    maxReplicaCount: ROUNDS + 1,
    cooldownPeriod: 300,
  };
  const stuckSpec = { ...spec, pollingInterval: STUCK_POLL_MS / 1000 };
  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "healthy",
      target: "healthy",
      spec,
      triggers: [kafkaTrigger({ brokers, group, topic, lagThreshold: 5 })],
    }),
  );
  await createScaledObject(
    rest,
    scaledObject({
      namespace: ns.name,
      name: "stuck",
      target: "stuck",
      spec: stuckSpec,
      triggers: [kafkaTrigger({ brokers: [`127.0.0.1:${silent.port}`], group, topic })],
    }),
  );

  const controller = await startController({
    stack,
    name: "isolation",
    watchNamespaces: [ns.name],
    // only polls: the end-offset watch would also start evaluations early, hiding the batch coupling
    extraArgs: ["--end-offset-watch-interval=0"],
  });
  t.after(() => controller.stop());
  const evaluated = (l: LogLine, name: string) =>
    l.msg === "evaluated" && l.scaledObject === `${ns.name}/${name}`;

  // The stuck object polls every 10 s and its read ends after the connection timeout (about 5 s). At its
  // next poll, a multiple of 10 s on the wall clock plus its phase (loops.ts; the healthy object, polling every
  // second, has none), both objects fall due in the same slot and
  // the stuck read hangs again: lag produced then must be acted on at the healthy object's next poll.
  // Connected beforehand, so that the produce lands within the stuck read's window even on a loaded machine.
  const producer = k.producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  await controller.waitForLog((l) => evaluated(l, "stuck"), 60_000);
  for (let round = 1; ; round++) {
    const afterStuck = await nextSharedSlot();
    // Each round adds 5 messages of lag, one replica more: lag 5·(round+1) over lagThreshold 5.
    await producer.send({
      topic,
      messages: Array.from({ length: round === 1 ? 10 : 5 }, (_, i) => ({ value: `m${i}` })),
    });
    const producedAt = Date.now();
    await waitForReplicas(rest, ns.name, "healthy", round + 1, 60_000);
    const stuckEnd = await controller.waitForLog((l) => evaluated(l, "stuck"), 60_000, afterStuck);
    const readEnd = Date.parse(String(stuckEnd.time));
    const order = controller.logs
      .slice(afterStuck)
      .filter((l) => (l.msg === "scaled" && l.scaledObject === `${ns.name}/healthy`) || l === stuckEnd);
    const seen = JSON.stringify(order.map((l) => [l.msg, l.scaledObject, l.time]));
    // The healthy object polls every second: the order says something only if the lag was there at least one
    // poll (and a margin) before the hanging read ended. A test process slowed by its neighbours can
    // produce later than that; that round proves nothing either way and the next slot is tried.
    if (producedAt + HEALTHY_POLL_MS + MARGIN_MS > readEnd) {
      t.diagnostic(
        `round ${round}: produced at ${new Date(producedAt).toISOString()}, too close to the end of the stuck read (${stuckEnd.time}); trying the next slot`,
      );
      assert.ok(
        round < ROUNDS,
        `the lag never landed early in a stuck read's window in ${ROUNDS} rounds: ${seen}`,
      );
      continue;
    }
    t.diagnostic(
      `round ${round}: produced ${((readEnd - producedAt) / 1000).toFixed(1)} s before the stuck read ended; order ${seen}`,
    );
    assert.equal(
      order[0]?.msg,
      "scaled",
      `the healthy object scaled before the stuck object's read ended (produced at ${new Date(producedAt).toISOString()}): ${seen}`,
    );
    assert.match(JSON.stringify(stuckEnd.triggers), /error/, "the stuck object's read failed");
    break;
  }

  /** Waits until a stuck read hangs in a slot shared with the healthy object; answers where its log lines begin. */
  async function nextSharedSlot(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      // The stuck object's latest read has ended; wait for its next slot and the healthy evaluation in it.
      const last = controller.logs.findLast((l) => evaluated(l, "stuck"))!;
      const afterStuck = controller.logs.indexOf(last) + 1;
      const slot = nextAlignedTime(
        Date.parse(String(last.time)),
        STUCK_POLL_MS,
        pollPhaseMs(`${ns.name}/stuck`, STUCK_POLL_MS),
      );
      await controller.waitForLog(
        (l) => evaluated(l, "healthy") && Date.parse(String(l.time)) >= slot,
        30_000,
        afterStuck,
      );
      // A poll that fell due while the stuck read ran starts another read at once, outside the slot: try again.
      if (!controller.logs.slice(afterStuck).some((l) => evaluated(l, "stuck"))) return afterStuck;
      assert.ok(attempt < 4, "the stuck object's reads never left a slot free");
    }
  }
});
