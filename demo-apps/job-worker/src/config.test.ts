/** The worker's environment: the dispatcher's LAGSCALE_MESSAGE_* round-trips, and each bad value is named. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { messageEnv } from "../../../core/scaledjob/message.js";
import { configFromEnv, markedToFail, messageFromEnv, parseWorkSeconds } from "./config.js";

const envOf = (vars: { name: string; value: string }[]): NodeJS.ProcessEnv =>
  Object.fromEntries(vars.map((v) => [v.name, v.value]));

const base = {
  topic: "orders",
  partition: 3,
  offset: "9007199254740993",
  timestamp: "1764655200000",
  headers: { "demo-fail": "TRUE", trace: ["a", "b"] },
};

test("the dispatcher's environment round-trips: utf8, binary, no key, tombstone, omitted value", () => {
  const cases = [
    { key: Buffer.from("k-1"), value: Buffer.from("héllo"), inline: 4096 },
    { key: Buffer.from([0, 255, 1]), value: Buffer.from([0xff, 0x00, 0x10]), inline: 4096 },
    { key: null, value: null, inline: 4096 },
    { key: Buffer.from("k"), value: Buffer.alloc(5000, 120), inline: 4096 },
  ];
  for (const c of cases) {
    const m = messageFromEnv(envOf(messageEnv({ ...base, key: c.key, value: c.value }, c.inline)));
    assert.equal(m.topic, "orders");
    assert.equal(m.partition, 3);
    assert.equal(m.offset, "9007199254740993", "an int64 offset is kept exactly");
    assert.equal(m.timestamp, 1764655200000);
    assert.deepEqual(m.key, c.key);
    assert.deepEqual(m.headers, base.headers);
    assert.equal(m.valueSize, c.value?.length ?? 0);
    if (c.value && c.value.length > c.inline) assert.equal(m.value, undefined, "omitted: fetched later");
    else assert.deepEqual(m.value, c.value);
  }
});

test("marked to fail: header demo-fail true (any case, or in a list), nothing else", () => {
  const rows: [Record<string, string | string[]>, boolean][] = [
    [{ "demo-fail": "true" }, true],
    [{ "demo-fail": " TRUE " }, true],
    [{ "demo-fail": ["false", "true"] }, true],
    [{ "demo-fail": "false" }, false],
    [{ "demo-fail": "1" }, false],
    [{ fail: "true" }, false],
    [{}, false],
  ];
  for (const [headers, want] of rows) {
    const m = messageFromEnv(envOf(messageEnv({ ...base, headers, key: null, value: Buffer.from("v") }, 10)));
    assert.equal(markedToFail(m), want, JSON.stringify(headers));
  }
});

test("bad environment: each error names the variable and what is accepted", () => {
  const good = envOf(messageEnv({ ...base, key: Buffer.from("k"), value: Buffer.from("v") }, 10));
  const rows: [NodeJS.ProcessEnv, RegExp][] = [
    [{}, /LAGSCALE_MESSAGE_TOPIC is not set: .*perMessage/],
    [{ ...good, LAGSCALE_MESSAGE_PARTITION: "-1" }, /LAGSCALE_MESSAGE_PARTITION="-1" is not a whole number/],
    [
      { ...good, LAGSCALE_MESSAGE_OFFSET: "9223372036854775808" },
      /LAGSCALE_MESSAGE_OFFSET=.*is not a Kafka offset \(int64/,
    ],
    [{ ...good, LAGSCALE_MESSAGE_TOPIC: "a b" }, /not a valid Kafka topic name/],
    [{ ...good, LAGSCALE_MESSAGE_HEADERS: "[1]" }, /must be a JSON object/],
    [{ ...good, LAGSCALE_MESSAGE_HEADERS: "{" }, /LAGSCALE_MESSAGE_HEADERS is not JSON/],
    [{ ...good, LAGSCALE_MESSAGE_HEADERS: '{"n":1}' }, /header "n" is not text/],
    [{ ...good, LAGSCALE_MESSAGE_KEY_ENCODING: "hex" }, /LAGSCALE_MESSAGE_KEY_ENCODING="hex" is not one of/],
    [
      { ...good, LAGSCALE_MESSAGE_VALUE_ENCODING: "base64", LAGSCALE_MESSAGE_VALUE: "%%%" },
      /not valid base64/,
    ],
    [{ ...good, LAGSCALE_MESSAGE_VALUE_SIZE: "7" }, /1 bytes but LAGSCALE_MESSAGE_VALUE_SIZE says 7/],
    [{ ...good, WORK_SECONDS: "1h" }, /WORK_SECONDS="1h" is not a number of seconds/],
    [{ ...good, KAFKA_BROKER: "kafka" }, /KAFKA_BROKER: "kafka" has no port/],
  ];
  for (const [env, want] of rows) assert.throws(() => configFromEnv(env), want);
});

test("an omitted value needs KAFKA_BROKER to be fetched", () => {
  const env = envOf(messageEnv({ ...base, key: null, value: Buffer.alloc(20) }, 10));
  assert.throws(() => configFromEnv(env), /20 bytes\) was not inlined and KAFKA_BROKER is not set/);
  assert.deepEqual(configFromEnv({ ...env, KAFKA_BROKER: "kafka:9092" }).brokers, ["kafka:9092"]);
});

test("WORK_SECONDS: default 1, fractions, bounds", () => {
  assert.equal(parseWorkSeconds(undefined), 1);
  assert.equal(parseWorkSeconds(""), 1);
  assert.equal(parseWorkSeconds("0"), 0);
  assert.equal(parseWorkSeconds("2.5"), 2.5);
  assert.throws(() => parseWorkSeconds("-1"), /between 0 and 86400/);
  assert.throws(() => parseWorkSeconds("86401"), /between 0 and 86400/);
  assert.throws(() => parseWorkSeconds("1e3"), /WORK_SECONDS/);
});
