/**
 * Smoke test: the stack's broker has a SASL_PLAINTEXT listener with SCRAM-SHA-256 and SCRAM-SHA-512 users. The
 * right password gets in (and can produce and read offsets); a wrong password and an unknown user are refused.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Partitioners } from "kafkajs";
import { createTopic, kafkaClient, scramOptions, uniqueName } from "../stack/kafka/index.js";
import { loadStack } from "../support/stack.js";

const stack = loadStack();
const skip =
  stack.kafka.sasl === undefined
    ? `the stack's Kafka (${stack.kafka.kind}) has no SASL listener; start it with startKafka({ sasl: true })`
    : false;

for (const mechanism of ["scram-sha-256", "scram-sha-512"] as const) {
  test(`${mechanism}: the right password authenticates, a wrong one is refused`, { skip }, async (t) => {
    const info = stack.kafka;
    const good = scramOptions(info, mechanism);

    const kafka = kafkaClient(info, `smoke-${mechanism}`, { sasl: good });
    const admin = kafka.admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const cluster = await admin.describeCluster();
    assert.ok(cluster.brokers.length >= 1);
    // The SASL listener is advertised, so metadata sends the client back to it.
    assert.deepEqual(
      cluster.brokers.map((b) => `${b.host}:${b.port}`),
      info.sasl!.bootstrapServers,
    );
    const topic = uniqueName(`smoke-${mechanism}`);
    await createTopic(admin, topic, 1);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: "authenticated" }] });
    await producer.disconnect();
    const [offsets] = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets?.high, "1");

    const refused = [
      { ...good, password: `${good.password}-wrong` },
      { ...good, username: `${good.username}-unknown` },
    ];
    for (const sasl of refused) {
      const bad = kafkaClient(info, `smoke-${mechanism}-bad`, {
        sasl,
        config: { retry: { retries: 0 } },
      }).admin();
      await assert.rejects(bad.connect(), (err: Error) => {
        assert.match(`${err.name}: ${err.message}`, /SASL|[Aa]uthentication/);
        return true;
      });
      await bad.disconnect();
    }
  });
}
