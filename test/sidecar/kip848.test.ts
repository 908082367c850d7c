/**
 * A group on the KIP-848 consumer protocol, on the stack's real broker: a Java consumer from the broker's own
 * kafka-clients jar joins with group.protocol=consumer (kafkajs speaks only the classic protocol). The
 * sidecar must report the group unsupported with a reason, never read it as empty or idle by mistake; and a
 * group that does not exist yet must not be taken for one.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { createLogger } from "../../core/log.js";
import { KafkajsPodKafka, readPod } from "../../sidecar/kafka.js";
import { createTopic, uniqueName } from "../stack/kafka/client.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The broker's class path (a local stack broker runs from a libs folder holding kafka-clients). */
function brokerClassPath(): string | undefined {
  const args = loadStack().kafka.handle.args;
  if (!Array.isArray(args)) return undefined;
  const i = args.indexOf("-cp");
  return i >= 0 && typeof args[i + 1] === "string" ? (args[i + 1] as string) : undefined;
}

test("a KIP-848 group is reported unsupported, a group that does not exist is not", async (t) => {
  const classPath = brokerClassPath();
  if (classPath === undefined || spawnSync("java", ["-version"]).status !== 0) {
    t.skip("needs the local stack's broker jars and a JDK to run a KIP-848 consumer");
    return;
  }
  const brokers = loadStack().bootstrapServers;
  const admin = new Kafka({ clientId: "kip848-test", brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  const topic = uniqueName("sidecar-kip848");
  const groupId = uniqueName("sidecar-kip848-group");
  await createTopic(admin, topic, 2);

  const member = spawn(
    "java",
    [
      "-cp",
      classPath,
      path.join(here, "kip848", "Kip848Member.java"),
      brokers.join(","),
      topic,
      groupId,
      "120",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  t.after(() => member.kill("SIGKILL"));
  let out = "";
  member.stdout.on("data", (d: Buffer) => (out += d.toString()));
  member.stderr.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor(
    "the KIP-848 member assigned",
    () => (out.includes("assigned [") ? true : undefined),
    90_000,
    200,
  );

  const kafka = new KafkajsPodKafka({
    connection: { brokers },
    clientId: "kip848-test",
    logger: createLogger("t", "silent"),
  });
  t.after(() => kafka.close());
  const options = { podIp: "127.0.0.1", offsetResetPolicy: "latest" as const };
  const reading = await readPod(kafka, { ...options, consumerGroup: groupId }, Date.now);
  assert.match(reading.unsupported ?? "", /exists but DescribeGroups describes it as Dead: .*KIP-848/);
  assert.deepEqual(reading.partitions, []);

  const absent = await readPod(
    kafka,
    { ...options, consumerGroup: uniqueName("sidecar-no-such-group") },
    Date.now,
  );
  assert.equal(absent.unsupported, undefined);
  assert.equal(absent.groupState, "Dead");
});
