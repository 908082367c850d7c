/**
 * Smoke test: the stack's broker has a SASL_PLAINTEXT listener with SCRAM-SHA-256 and SCRAM-SHA-512 users. The
 * right password gets in (and can produce and read offsets); a wrong password and an unknown user are refused
 * (checkScram; kafka-testcontainers.test.ts runs it on a container broker).
 */
import { test } from "node:test";
import { loadStack } from "../support/stack.js";
import { checkScram } from "./kafka-checks.js";

const stack = loadStack();
const skip =
  stack.kafka.sasl === undefined
    ? `the stack's Kafka (${stack.kafka.kind}) has no SASL listener; start it with startKafka({ sasl: true })`
    : false;

for (const mechanism of ["scram-sha-256", "scram-sha-512"] as const) {
  test(`${mechanism}: the right password authenticates, a wrong one is refused`, { skip }, async (t) => {
    await checkScram(stack.kafka, mechanism, t);
  });
}
