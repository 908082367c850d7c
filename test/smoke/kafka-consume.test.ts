/**
 * Smoke test: the stack's Kafka is a real broker. 1,000 messages go to a new 5-partition topic, a consumer group
 * of two members reads them, and the group's committed offsets, read back with the admin API, add up to 1,000
 * with every partition having some (checkConsume; kafka-testcontainers.test.ts runs it on a container broker).
 */
import { test } from "node:test";
import { loadStack } from "../support/stack.js";
import { checkConsume } from "./kafka-checks.js";

test("1,000 messages through a 5-partition topic; the group's committed offsets sum to 1,000", async (t) => {
  await checkConsume(loadStack().kafka, t);
});
