/**
 * The Kafka smoke checks (kafka-checks.ts: consume and commit, SCRAM, restart) on a broker started through
 * testcontainers: on these machines podman's API socket of the stack, the host network and the Kafka image made
 * from Debian packages and Maven Central's jars (lagscale.local/kafka); with Docker, the official apache/kafka
 * image. Skipped, with the reason, when no container engine is usable (LAGSCALE_CONTAINERS=off, no podman).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { testcontainersSkipReason } from "../stack/containers/testcontainers.js";
import { localKafkaImage } from "../stack/kafka/container.js";
import { PINNED_KAFKA_VERSION, destroyKafka, startKafka } from "../stack/kafka/index.js";
import { cacheDir } from "../stack/paths.js";
import type { KafkaInfo } from "../stack/types.js";
import { loadStack } from "../support/stack.js";
import { checkConsume, checkRestart, checkScram } from "./kafka-checks.js";

const stack = loadStack();
const skip = (await testcontainersSkipReason(stack)) ?? false;
if (skip) console.log(`kafka-testcontainers: skipped: ${skip}`);
const version = stack.kafka.kind === "external" ? PINNED_KAFKA_VERSION : stack.kafka.version;

describe("Kafka through testcontainers", { skip }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-kafka-tc-"));
  let info: KafkaInfo | undefined;
  let startSeconds = NaN;
  const broker = () => {
    assert.ok(info, "the container broker started");
    return info;
  };

  before(async () => {
    const started = Date.now();
    info = await startKafka({
      stateDir: dir,
      cacheDir: cacheDir(),
      kind: "testcontainers",
      sasl: true,
      version,
    });
    startSeconds = (Date.now() - started) / 1000;
  });
  after(async () => {
    if (info) await destroyKafka(info);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the broker is a container of the image made here (or LAGSCALE_KAFKA_IMAGE), on loopback", (t) => {
    const b = broker();
    const image = (b.handle as { image?: string }).image;
    t.diagnostic(`testcontainers start until the broker answered: ${startSeconds.toFixed(1)} s (${image})`);
    assert.equal(b.kind, "testcontainers");
    const expected =
      process.env.LAGSCALE_KAFKA_IMAGE?.trim() ||
      (stack.containers?.images ? localKafkaImage(version) : undefined);
    if (expected) assert.equal(image, expected);
    for (const s of [...b.bootstrapServers, ...(b.sasl?.bootstrapServers ?? [])])
      assert.match(s, /^127\.0\.0\.1:\d+$/);
    assert.notDeepEqual(b.bootstrapServers, stack.bootstrapServers, "not the stack's broker");
  });

  test("1,000 messages through a 5-partition topic; the group's committed offsets sum to 1,000", async (t) => {
    await checkConsume(broker(), t);
  });

  for (const mechanism of ["scram-sha-256", "scram-sha-512"] as const) {
    test(`${mechanism}: the right password authenticates, a wrong one is refused`, async (t) => {
      await checkScram(broker(), mechanism, t);
    });
  }

  // last: it stops the container and starts it again
  test("a stopped and restarted container keeps its data; the group resumes where it committed", async (t) => {
    info = await checkRestart(broker(), t);
  });
});
