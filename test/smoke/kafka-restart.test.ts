/**
 * Smoke test: a broker can be stopped and started again (same ports, same data) and a consumer group resumes
 * from its committed offsets, consuming exactly the messages produced after its last commit (checkRestart). Runs
 * on a private broker of its own (same kind and version as the stack's), so that the shared one is never
 * disturbed; kafka-testcontainers.test.ts runs the same check on a container broker.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { PINNED_KAFKA_VERSION, destroyKafka, startKafka } from "../stack/kafka/index.js";
import { cacheDir } from "../stack/paths.js";
import type { KafkaInfo } from "../stack/types.js";
import { loadStack } from "../support/stack.js";
import { checkRestart } from "./kafka-checks.js";

test("a stopped and restarted broker keeps its data; the consumer group resumes where it committed", async (t) => {
  const shared = loadStack().kafka;
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-kafka-restart-"));
  const started = Date.now();
  let info: KafkaInfo = await startKafka({
    stateDir: dir,
    cacheDir: cacheDir(),
    sasl: false,
    kind: shared.kind === "testcontainers" ? "testcontainers" : "local",
    version: shared.kind === "external" ? PINNED_KAFKA_VERSION : shared.version,
  });
  t.after(async () => {
    await destroyKafka(info);
    rmSync(dir, { recursive: true, force: true });
  });
  assert.notDeepEqual(info.bootstrapServers, shared.bootstrapServers, "a private broker, not the stack's");
  t.diagnostic(`start (${info.kind}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  info = await checkRestart(info, t);
});
