import { test } from "node:test";
import assert from "node:assert/strict";
import { connectionKey, connectionLabel, connectionProblems, kafkajsConfig } from "./connection.js";
import {
  assertKafkajsVersion,
  installedKafkajsVersion,
  SUPPORTED_KAFKAJS_VERSION,
} from "./kafkajs-internals.js";

const t = { connectionTimeoutMs: 1000, requestTimeoutMs: 2000, retries: 1 };

test("the same brokers in any order or case, trimmed and deduplicated, are one cluster", () => {
  assert.equal(
    connectionKey({ brokers: ["b:1", "a:1"] }),
    connectionKey({ brokers: [" A:1", "b:1", "a:1 "] }),
  );
  assert.notEqual(connectionKey({ brokers: ["a:1"] }), connectionKey({ brokers: ["a:2"] }));
});

test("credentials and TLS material are part of the identity", () => {
  const base = { brokers: ["a:1"] };
  const scram = { ...base, sasl: { mechanism: "scram-sha-512" as const, username: "u", password: "p" } };
  const keys = new Set([
    connectionKey(base),
    connectionKey(scram),
    connectionKey({ ...scram, sasl: { ...scram.sasl, password: "q" } }),
    connectionKey({ ...scram, sasl: { ...scram.sasl, mechanism: "scram-sha-256" } }),
    connectionKey({ ...base, tls: {} }),
    connectionKey({ ...base, tls: { unsafeSsl: true } }),
    connectionKey({ ...base, tls: { ca: "CA" } }),
  ]);
  assert.equal(keys.size, 7);
});

test("the key and label never contain the password", () => {
  const c = {
    brokers: ["a:1"],
    sasl: { mechanism: "plain" as const, username: "alice", password: "hunter2" },
  };
  assert.doesNotMatch(connectionKey(c), /hunter2/);
  assert.equal(connectionLabel(c), "a:1 plain:alice");
  assert.equal(connectionLabel({ brokers: ["b:1", "a:1"], tls: {} }), "a:1,b:1 tls");
});

test("unusable connections are reported, each problem named", () => {
  assert.deepEqual(connectionProblems({ brokers: ["a:1"] }), []);
  assert.deepEqual(connectionProblems({ brokers: [" ", ""] }), ["no bootstrap servers given"]);
  assert.deepEqual(connectionProblems({ brokers: ["nohostport"] }), [
    'bootstrap server "nohostport" is not host:port',
  ]);
  assert.deepEqual(
    connectionProblems({
      brokers: ["a:1"],
      sasl: { mechanism: "gssapi" as never, username: "", password: "" },
      tls: { cert: "C" },
    }),
    [
      'SASL mechanism "gssapi" is not supported (plain, scram-sha-256, scram-sha-512)',
      "SASL needs a username",
      "SASL needs a password",
      "TLS cert and key must be given together",
    ],
  );
});

test("kafkajs options carry SASL and TLS as KEDA's parameters mean them", () => {
  const plain = kafkajsConfig({ brokers: ["b:1", "a:1"] }, "id", t);
  assert.deepEqual(plain.brokers, ["a:1", "b:1"]);
  assert.equal(plain.sasl, undefined);
  assert.equal(plain.ssl, undefined);
  assert.equal(plain.connectionTimeout, 1000);
  assert.equal(plain.requestTimeout, 2000);

  const full = kafkajsConfig(
    {
      brokers: ["a:1"],
      sasl: { mechanism: "scram-sha-256", username: "u", password: "p" },
      tls: { ca: "CA", cert: "CERT", key: "KEY", keyPassword: "KP", unsafeSsl: true },
    },
    "id",
    t,
  );
  assert.deepEqual(full.sasl, { mechanism: "scram-sha-256", username: "u", password: "p" });
  assert.deepEqual(full.ssl, {
    rejectUnauthorized: false,
    ca: ["CA"],
    cert: "CERT",
    key: "KEY",
    passphrase: "KP",
  });
  // tls=enable with nothing else: system roots, certificates verified.
  assert.deepEqual(kafkajsConfig({ brokers: ["a:1"], tls: {} }, "id", t).ssl, { rejectUnauthorized: true });
});

test("the kafkajs internals module accepts only the kafkajs version it was written for", () => {
  assert.equal(installedKafkajsVersion(), SUPPORTED_KAFKAJS_VERSION);
  assert.doesNotThrow(() => assertKafkajsVersion());
  assert.throws(() => assertKafkajsVersion("2.3.0"), /kafkajs 2\.3\.0 is installed/);
});
