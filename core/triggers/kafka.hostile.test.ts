/**
 * Hostile input for the kafka trigger's parameters (metadata, the target's environment and the
 * TriggerAuthentication's parameters): every call answers a value or errors naming a parameter, within a
 * time and heap budget (test/support/bounded.ts), including the partitionLimitation of issue 8 by name.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bounded } from "../../test/support/bounded.js";
import { MAX_PARTITION_IDS, parseKafkaTrigger, parsePartitionLimitation } from "./kafka.js";

const BASE = { bootstrapServers: "kafka:9092", consumerGroup: "g", topic: "t" };

describe("kafka: the inputs of issue 8", () => {
  it('partitionLimitation "0-99999,0-99999,..." is refused before any id is allocated (800 bytes and 9 KB)', () => {
    for (const bytes of [800, 9_000, 1_500_000]) {
      const s = Array(Math.ceil(bytes / 8))
        .fill("0-99999")
        .join(",");
      const r = bounded("parsePartitionLimitation", parsePartitionLimitation, s);
      assert.ok(!r.ok);
      assert.match(r.message, /more than 10000 partition ids in total/);
    }
  });

  it("the total counts single ids and ranges together; reversed ranges count nothing", () => {
    const exactly = `0-${MAX_PARTITION_IDS - 2},7`;
    const r = bounded("parsePartitionLimitation", parsePartitionLimitation, exactly);
    assert.ok(r.ok);
    assert.equal(r.value.length, MAX_PARTITION_IDS);
    assert.equal(parsePartitionLimitation(`${exactly},8`).ok, false);
    const reversed = bounded(
      "parsePartitionLimitation",
      parsePartitionLimitation,
      Array(200_000).fill("9-1").join(","),
    );
    assert.deepEqual(reversed, { ok: true, value: [] });
  });

  it("through the trigger parser the message names partitionLimitation", () => {
    const r = bounded("parseKafkaTrigger", parseKafkaTrigger, {
      metadata: { ...BASE, partitionLimitation: Array(1200).fill("0-99999").join(",") },
    });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => e.parameter),
      ["partitionLimitation"],
    );
  });
});

describe("kafka: messages", () => {
  it("a 1 MiB value is quoted cut short, so it cannot bloat the status, an Event or the log", () => {
    const huge = "x".repeat(2 ** 20);
    for (const name of [
      "lagThreshold",
      "offsetResetPolicy",
      "partitionLimitation",
      "version",
      "allowIdleConsumers",
    ]) {
      const r = bounded("parseKafkaTrigger", parseKafkaTrigger, { metadata: { ...BASE, [name]: huge } });
      assert.ok(!r.ok, name);
      assert.ok(r.errors[0]!.message.length < 300, `${name}: ${r.errors[0]!.message.length} characters`);
      assert.match(r.errors[0]!.message, /\(1048576 characters\)/);
    }
  });
});

describe("kafka: names", () => {
  it("a topic over 249 characters or a group id over 32767 bytes is refused, as no broker holds one", () => {
    const topic = bounded("parseKafkaTrigger", parseKafkaTrigger, {
      metadata: { ...BASE, topic: "t".repeat(250) },
    });
    assert.ok(!topic.ok);
    assert.deepEqual(
      topic.errors.map((e) => e.parameter),
      ["topic"],
    );
    assert.ok(parseKafkaTrigger({ metadata: { ...BASE, topic: "t".repeat(249) } }).ok);
    const group = parseKafkaTrigger({ metadata: { ...BASE, consumerGroup: "é".repeat(20_000) } });
    assert.ok(!group.ok);
    assert.deepEqual(
      group.errors.map((e) => e.parameter),
      ["consumerGroup"],
    );
  });
});

describe("kafka: numbers", () => {
  it("lagThreshold and activationLagThreshold: only whole numbers a JSON int64 holds exactly", () => {
    const refused = [
      "1e9",
      "NaN",
      "Infinity",
      "-Infinity",
      "0x10",
      "1.5",
      "9".repeat(400),
      "9007199254740993",
      "",
      " ",
      "1_000",
    ];
    for (const name of ["lagThreshold", "activationLagThreshold"]) {
      for (const v of refused) {
        const r = bounded("parseKafkaTrigger", parseKafkaTrigger, { metadata: { ...BASE, [name]: v } });
        // A blank value counts as absent (KEDA): the default applies.
        if (v.trim() === "") assert.ok(r.ok, `${name}=${JSON.stringify(v)}`);
        else {
          assert.ok(!r.ok, `${name}=${JSON.stringify(v)}`);
          assert.deepEqual(
            r.errors.map((e) => e.parameter),
            [name],
          );
        }
      }
    }
    const zero = parseKafkaTrigger({ metadata: { ...BASE, lagThreshold: "0" } });
    assert.ok(!zero.ok, "lagThreshold 0 would divide by zero");
    const big = parseKafkaTrigger({ metadata: { ...BASE, lagThreshold: "9007199254740991" } });
    assert.ok(big.ok);
  });
});

const PARAMS = [
  "bootstrapServers",
  "consumerGroup",
  "topic",
  "partitionLimitation",
  "lagThreshold",
  "activationLagThreshold",
  "offsetResetPolicy",
  "allowIdleConsumers",
  "excludePersistentLag",
  "scaleToZeroOnInvalidOffset",
  "limitToPartitionsWithLag",
  "ensureEvenDistributionOfPartitions",
  "fullMetadata",
  "version",
  "tls",
  "unsafeSsl",
  "sasl",
  "saslTokenProvider",
  "awsRegion",
  "identityOwner",
  "topicFromEnv",
  "consumerGroupFromEnv",
  "bootstrapServersFromEnv",
  "awsAccessKeyIDFromEnv",
  "awsSecretAccessKeyFromEnv",
  "__proto__",
  "constructor",
  "toString",
];
const AUTH_PARAMS = [
  "tls",
  "ca",
  "cert",
  "key",
  "keyPassword",
  "sasl",
  "saslTokenProvider",
  "username",
  "password",
  "scopes",
  "oauthTokenEndpointUri",
  "oauthExtensions",
  "keytab",
  "realm",
  "kerberosConfig",
  "kerberosServiceName",
  "kerberosDisableFAST",
  "awsRoleArn",
  "awsAccessKeyID",
  "awsSecretAccessKey",
  "awsSessionToken",
  "__proto__",
];
const valueArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "true",
    "TRUE",
    "yes",
    "enable",
    "plaintext",
    "scram_sha512",
    "oauthbearer",
    "gssapi",
    "aws_msk_iam",
    "bearer",
    "latest",
    "earliest",
    "1.0.0",
    "0.10.2.1",
    "9".repeat(30),
    "1e9",
    "-1",
    "0-99999,".repeat(50),
    "a=b,c",
    "=,=",
  ),
  fc.string({ unit: fc.constantFrom(..."0123456789,- "), maxLength: 60 }),
);
const mapArb = (keys: string[]) =>
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 10 })), valueArb), {
      maxLength: 12,
    })
    .map((entries) => {
      // Own properties even for "__proto__", as a JSON-decoded object has them.
      const o: Record<string, string> = {};
      for (const [k, v] of entries)
        Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    });

describe("kafka: properties", () => {
  it("any parameters answer a value or errors naming a parameter; partitions never exceed the cap", () => {
    fc.assert(
      fc.property(
        mapArb(PARAMS),
        mapArb(AUTH_PARAMS),
        mapArb(["KAFKA", "GROUP", "TOPIC"]),
        fc.boolean(),
        (metadata, authParams, resolvedEnv, withBase) => {
          const input = { metadata: withBase ? { ...BASE, ...metadata } : metadata, authParams, resolvedEnv };
          const r = bounded("parseKafkaTrigger", parseKafkaTrigger, input);
          if (!r.ok) {
            assert.ok(r.errors.length > 0);
            for (const e of r.errors) {
              assert.ok(e.parameter !== "" && e.message !== "", JSON.stringify(e));
              assert.ok(e.message.length < 400, `a message of ${e.message.length} characters`);
            }
          } else {
            assert.ok(r.value.lagThreshold > 0 && Number.isSafeInteger(r.value.lagThreshold));
            assert.ok(r.value.activationLagThreshold >= 0);
            assert.ok((r.value.partitionLimitation?.length ?? 0) <= MAX_PARTITION_IDS);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("partitionLimitation: a value, or a message; small inputs expand as KEDA's ParseInt32List does", () => {
    const reference = (s: string): number[] | undefined => {
      const out: number[] = [];
      for (const term of s.split(",")) {
        const ends = term.split("-").map((x) => x.trim());
        const n = (x: string) =>
          /^[+-]?[0-9]+$/.test(x) && Math.abs(Number(x)) < 2 ** 31 ? Number(x) : undefined;
        if (ends.length > 2) return undefined;
        const a = n(ends[0]!);
        const b = ends.length === 2 ? n(ends[1]!) : a;
        if (a === undefined || b === undefined) return undefined;
        for (let i = a; i <= b; i++) {
          out.push(i);
          if (out.length > MAX_PARTITION_IDS) return undefined;
        }
      }
      return out;
    };
    const small = fc.string({ unit: fc.constantFrom(..."0123456789,- "), maxLength: 20 });
    fc.assert(
      fc.property(fc.oneof(small, valueArb), (s) => {
        const r = bounded("parsePartitionLimitation", parsePartitionLimitation, s);
        if (r.ok) assert.ok(r.value.length <= MAX_PARTITION_IDS);
        else assert.match(r.message, /^invalid partition limitation/);
        if (s.length <= 20 && !/[0-9]{7}/.test(s))
          assert.deepEqual(r.ok ? r.value : undefined, reference(s), s);
      }),
      { numRuns: 500 },
    );
  });
});
