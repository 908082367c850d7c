/**
 * The lag reader through each secured listener of the stack's real broker (test/stack/kafka: TLS, mTLS,
 * SASL_SSL with PLAIN, SCRAM and OAUTHBEARER), with the parameters a TriggerAuthentication gives (KEDA's
 * `tls`, `ca`, `cert`, `key`, `keyPassword`, `unsafeSsl`, `sasl`, `username`, `password`,
 * `oauthTokenEndpointUri`, `scopes`, `oauthExtensions`). Each working case reads the same known lag; each
 * broken credential fails the read as a cluster error saying what is wrong. The end-offset watch and the
 * sidecar's client (configured from its KAFKA_* environment) are run through the listeners too, since all
 * three share core/kafka/connection.ts. The OAuth token endpoint is a small
 * real HTTP server in this process (token-issuer.ts) whose tokens the broker validates itself.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BatchedLagReader } from "../../core/kafka/batched-reader.js";
import { EndOffsetWatch, type WatchTick } from "../../core/kafka/end-offset-watch.js";
import { lagRequestFromTrigger } from "../../core/kafka/from-trigger.js";
import type { KafkaConnection, LagReadResult } from "../../core/kafka/types.js";
import { evaluateKafkaLag } from "../../core/lag/evaluate.js";
import { createLogger } from "../../core/log.js";
import { parseKafkaTrigger } from "../../core/triggers/kafka.js";
import { parseSidecarConfig } from "../../sidecar/config.js";
import { KafkajsPodKafka } from "../../sidecar/kafka.js";
import { TokenIssuer } from "../stack/kafka/token-issuer.js";
import type { KafkaSecuredListeners, StackInfo } from "../stack/types.js";
import { loadStack } from "../support/stack.js";
import { KafkaFixture, setupClient } from "./support.js";

let stack: StackInfo;
let secured: KafkaSecuredListeners | undefined;
let kafka: KafkaFixture;
let reader: BatchedLagReader;
let issuer: TokenIssuer;
let topic: string;
let group: string;
const pem = (file: string) => readFileSync(file, "utf8");

// Partition 0: 5 messages, 2 committed; partition 1: 4 messages, 1 committed → lag 3 + 3.
const EXPECTED_LAG = 6;

before(async () => {
  stack = loadStack();
  secured = stack.kafka.secured;
  if (!secured) return;
  kafka = new KafkaFixture(setupClient(stack.kafka), stack.kafka);
  await kafka.connect();
  topic = await kafka.topic("secured", 2);
  await kafka.produce(topic, [5, 4]);
  group = kafka.group("secured");
  await kafka.commit(group, topic, { 0: 2, 1: 1 });
  reader = new BatchedLagReader({ retries: 0, connectionTimeoutMs: 5000, roundTimeoutMs: 15_000 });
  issuer = await new TokenIssuer({ clients: { "lagscale-client": "client-secret" } }).start();
});

after(async () => {
  await reader?.close();
  await kafka?.cleanup();
  await issuer?.stop();
});

/** Reads the test group's lag through `brokers` with the TriggerAuthentication parameters `authParams`. */
async function readWith(
  brokers: string[],
  authParams: Record<string, string>,
  metadata: Record<string, string> = {},
): Promise<LagReadResult> {
  const parsed = parseKafkaTrigger({
    metadata: {
      bootstrapServers: brokers.join(","),
      consumerGroup: group,
      topic,
      lagThreshold: "1",
      ...metadata,
    },
    authParams,
  });
  if (!parsed.ok) assert.fail(parsed.errors.map((e) => e.message).join("; "));
  const request = lagRequestFromTrigger(parsed.value);
  if (!request.ok) assert.fail(request.error);
  const read = await reader.read(request.request);
  if (read.ok) {
    const lag = evaluateKafkaLag(parsed.value, read);
    if (!lag.ok) assert.fail(lag.error);
    assert.equal(lag.totalLag, EXPECTED_LAG, "the lag read through the secured listener");
  }
  return read;
}

async function readsLag(
  brokers: string[],
  authParams: Record<string, string>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const read = await readWith(brokers, authParams, metadata);
  if (!read.ok) assert.fail(`read failed (${read.kind}): ${read.error}`);
}

async function failsWith(brokers: string[], authParams: Record<string, string>, why: RegExp): Promise<void> {
  const read = await readWith(brokers, authParams);
  assert.equal(read.ok, false, "the read must fail");
  if (read.ok) return;
  assert.equal(read.kind, "cluster");
  assert.match(read.error, why);
}

function skipWithoutListeners(t: { skip(m: string): void }): KafkaSecuredListeners | undefined {
  if (!secured) t.skip(`the stack's Kafka (${stack.kafka.kind}) has no secured listeners (local kind only)`);
  return secured;
}

describe("TLS listener (server authentication)", () => {
  it("reads with the broker's CA (`ca`)", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    await readsLag(s.tls, { tls: "enable", ca: pem(s.pki.ca) });
  });

  it("fails on a CA that did not sign the broker's certificate", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    await failsWith(s.tls, { tls: "enable", ca: pem(s.pki.foreignCa) }, /not signed by the CA given in `ca`/);
  });

  it("fails without a CA (system roots do not know a private CA), and unsafeSsl skips verification", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    await failsWith(s.tls, { tls: "enable" }, /not signed by the CA given in `ca`/);
    // KEDA reads unsafeSsl from the trigger's metadata only.
    await readsLag(s.tls, { tls: "enable" }, { unsafeSsl: "true" });
    const parsed = parseKafkaTrigger({
      metadata: { bootstrapServers: s.tls.join(","), consumerGroup: group, topic, unsafeSsl: "true" },
      authParams: { tls: "enable" },
    });
    assert.ok(parsed.ok);
    assert.ok(
      parsed.warnings.some((w) => /unsafeSsl/.test(w)),
      "the parse warns (the webhook shows it)",
    );
  });

  it("a plaintext client on a TLS listener fails instead of hanging", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    await failsWith(s.tls, {}, /set `tls: enable`/);
  });
});

describe("mTLS listener (client certificate required)", () => {
  it("reads with a client certificate and key (`cert`, `key`)", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    await readsLag(s.mtls, {
      tls: "enable",
      ca: pem(s.pki.ca),
      cert: pem(s.pki.clientCert),
      key: pem(s.pki.clientKey),
    });
  });

  it("reads with an encrypted key and its `keyPassword`; a wrong keyPassword is named", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const params = {
      tls: "enable",
      ca: pem(s.pki.ca),
      cert: pem(s.pki.clientCert),
      key: pem(s.pki.clientEncryptedKey),
    };
    await readsLag(s.mtls, { ...params, keyPassword: s.pki.clientKeyPassword });
    await failsWith(s.mtls, { ...params, keyPassword: "wrong" }, /check `key` and `keyPassword`/);
  });

  it("refuses no certificate, an expired one, and one from a foreign CA", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const base = { tls: "enable", ca: pem(s.pki.ca) };
    await failsWith(s.mtls, base, /wants a client certificate: give `cert` and `key`/);
    await failsWith(
      s.mtls,
      { ...base, cert: pem(s.pki.expiredClientCert), key: pem(s.pki.expiredClientKey) },
      /refused the client certificate/,
    );
    await failsWith(
      s.mtls,
      { ...base, cert: pem(s.pki.foreignClientCert), key: pem(s.pki.foreignClientKey) },
      /refused the client certificate/,
    );
  });
});

describe("SASL_SSL listener", () => {
  it("reads with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const ca = pem(s.pki.ca);
    const plain = s.plainUsers[0]!;
    await readsLag(s.saslSsl, {
      tls: "enable",
      ca,
      sasl: "plaintext",
      username: plain.username,
      password: plain.password,
    });
    for (const u of stack.kafka.sasl?.users ?? []) {
      const sasl = u.mechanism === "scram-sha-256" ? "scram_sha256" : "scram_sha512";
      await readsLag(s.saslSsl, { tls: "enable", ca, sasl, username: u.username, password: u.password });
    }
    assert.equal(stack.kafka.sasl?.users.length, 2, "both SCRAM users were exercised");
  });

  it("fails on a wrong password and reads again once it is corrected, with the same reader", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const plain = s.plainUsers[0]!;
    const params = { tls: "enable", ca: pem(s.pki.ca), sasl: "plaintext", username: plain.username };
    await failsWith(s.saslSsl, { ...params, password: "not-the-password" }, /authentication failed/i);
    // The Secret was fixed: the next evaluation carries the new password, without a restart.
    await readsLag(s.saslSsl, { ...params, password: plain.password });
  });

  it("reads with OAUTHBEARER: a client-credentials token carrying the scope the broker requires", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const before = issuer.requests.length;
    await readsLag(s.saslSsl, {
      tls: "enable",
      ca: pem(s.pki.ca),
      sasl: "oauthbearer",
      username: "lagscale-client",
      password: "client-secret",
      oauthTokenEndpointUri: issuer.url,
      scopes: `${s.oauthRequiredScope},other`,
      oauthExtensions: "traceId=abc",
    });
    const asked = issuer.requests.slice(before);
    assert.equal(asked.length, 1, "one token for the connection");
    assert.deepEqual(asked[0]!.scopes, [s.oauthRequiredScope, "other"]);
  });

  it("refuses a token without the required scope, an expired token, and a wrong client secret", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const params = {
      tls: "enable",
      ca: pem(s.pki.ca),
      sasl: "oauthbearer",
      username: "lagscale-client",
      password: "client-secret",
      oauthTokenEndpointUri: issuer.url,
    };
    await failsWith(
      s.saslSsl,
      { ...params, scopes: "other" },
      /rejected the OAuth token.*insufficient_scope \(required scope: \[kafka\]\)/,
    );
    issuer.issueExpired = true;
    try {
      await failsWith(
        s.saslSsl,
        { ...params, scopes: s.oauthRequiredScope, oauthExtensions: "run=expired" },
        /rejected the OAuth token.*invalid_token/,
      );
    } finally {
      issuer.issueExpired = false;
    }
    await failsWith(
      s.saslSsl,
      { ...params, password: "wrong", scopes: s.oauthRequiredScope },
      /token endpoint .* HTTP 401 invalid_client/,
    );
  });

  it("asks for a new token before the old one expires", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    // 20 s tokens are refreshed 10 s before they expire, so connections opened after 10 s ask for a new one.
    // (Not shorter: the broker gives the session the token's lifetime and kafkajs re-authenticates 10 s
    // before its end; a re-authentication racing the round's requests makes the broker refuse them.)
    issuer.lifetime = 20;
    const own = new BatchedLagReader({ retries: 0 });
    try {
      const params = {
        tls: "enable",
        ca: pem(s.pki.ca),
        sasl: "oauthbearer",
        username: "lagscale-client",
        password: "client-secret",
        oauthTokenEndpointUri: issuer.url,
        scopes: s.oauthRequiredScope,
        oauthExtensions: "run=refresh",
      };
      const parsed = parseKafkaTrigger({
        metadata: { bootstrapServers: s.saslSsl.join(","), consumerGroup: group, topic },
        authParams: params,
      });
      assert.ok(parsed.ok);
      const request = lagRequestFromTrigger(parsed.value);
      assert.ok(request.ok);
      const read = async () => {
        const r = await own.read(request.request);
        if (!r.ok) assert.fail(`read failed (${r.kind}): ${r.error}`);
      };
      const before = issuer.requests.length;
      await read();
      await own.close();
      await read();
      assert.equal(issuer.requests.length - before, 1, "a live token is reused by the next connection");
      await own.close();
      await new Promise((r) => setTimeout(r, 10_500));
      await read();
      assert.equal(issuer.requests.length - before, 2, "a token near its expiry is replaced");
    } finally {
      issuer.lifetime = 300;
      await own.close();
    }
  });
});

describe("the end-offset watch through a secured listener", () => {
  it("reads log-end offsets over mTLS and over SASL_SSL with OAUTHBEARER", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const ca = pem(s.pki.ca);
    const clusters: KafkaConnection[] = [
      { brokers: s.mtls, tls: { ca, cert: pem(s.pki.clientCert), key: pem(s.pki.clientKey) } },
      {
        brokers: s.saslSsl,
        tls: { ca },
        sasl: {
          mechanism: "oauthbearer",
          tokenEndpoint: issuer.url,
          clientId: "lagscale-client",
          clientSecret: "client-secret",
          scopes: [s.oauthRequiredScope],
          extensions: {},
        },
      },
    ];
    for (const cluster of clusters) {
      const ticks: WatchTick[] = [];
      const watch = new EndOffsetWatch({ intervalMs: 200 });
      try {
        watch.start({ topics: () => [{ cluster, topic }], onTick: (tick) => ticks.push(tick) });
        const deadline = Date.now() + 20_000;
        while (!ticks.some((x) => x.topics.length > 0) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const seen = ticks.find((x) => x.topics.length > 0)?.topics[0];
        assert.ok(seen, `no end offsets through ${cluster.brokers.join(",")}`);
        assert.equal(seen.sum, 9, "5 + 4 messages");
      } finally {
        await watch.stop();
      }
    }
  });
});

describe("the sidecar's Kafka client through secured listeners, configured from its environment", () => {
  it("reads committed and log-end offsets over mTLS, SASL_SSL/SCRAM and SASL_SSL/OAUTHBEARER", async (t) => {
    const s = skipWithoutListeners(t);
    if (!s) return;
    const scram = stack.kafka.sasl?.users.find((u) => u.mechanism === "scram-sha-512");
    assert.ok(scram);
    const tls = { KAFKA_TLS: "enable", KAFKA_CA: pem(s.pki.ca) };
    const variants: Record<string, string>[] = [
      {
        ...tls,
        KAFKA_BOOTSTRAP_SERVERS: s.mtls.join(","),
        KAFKA_CERT: pem(s.pki.clientCert),
        KAFKA_KEY: pem(s.pki.clientEncryptedKey),
        KAFKA_KEY_PASSWORD: s.pki.clientKeyPassword,
      },
      {
        ...tls,
        KAFKA_BOOTSTRAP_SERVERS: s.saslSsl.join(","),
        KAFKA_SASL: "scram_sha512",
        KAFKA_USERNAME: scram.username,
        KAFKA_PASSWORD: scram.password,
      },
      {
        ...tls,
        KAFKA_BOOTSTRAP_SERVERS: s.saslSsl.join(","),
        KAFKA_SASL: "oauthbearer",
        KAFKA_USERNAME: "lagscale-client",
        KAFKA_PASSWORD: "client-secret",
        KAFKA_OAUTH_TOKEN_ENDPOINT_URI: issuer.url,
        KAFKA_SCOPES: s.oauthRequiredScope,
      },
    ];
    for (const env of variants) {
      const config = parseSidecarConfig({
        POD_NAME: "consumer-0",
        POD_NAMESPACE: "default",
        POD_IP: "127.0.0.1",
        LAGSCALE_SCALED_OBJECT: "secured",
        LAGSCALE_CONSUMER_GROUP: group,
        LAGSCALE_LAG_THRESHOLD: "1",
        LAGSCALE_REPORT_URL: "https://127.0.0.1:1/v1/reports",
        ...env,
      });
      const kafka = new KafkajsPodKafka({
        connection: config.kafka,
        clientId: "lagscale-sidecar-test",
        logger: createLogger("sidecar-test", "silent"),
      });
      try {
        const offsets = await kafka.readOffsets(
          group,
          [
            { topic, partition: 0 },
            { topic, partition: 1 },
          ],
          false,
        );
        assert.deepEqual(
          offsets.map((o) => [o.partition, o.committed, o.latest]),
          [
            [0, 2, 5],
            [1, 1, 4],
          ],
          env["KAFKA_SASL"] ?? "mTLS",
        );
      } finally {
        await kafka.close();
      }
    }
  });
});
