/** Pure pieces of the Kafka stack: needs no broker. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  loggingBinding,
  newClusterId,
  renderServerProperties,
  scramFormatArgs,
  validateVersion,
} from "./config.js";
import { parseBootstrapServers } from "./index.js";

test("loggingBinding picks the backend the release tarball ships", () => {
  const cases: { jars: string[]; want: string | undefined }[] = [
    {
      jars: ["kafka_2.13-4.4.0.jar", "slf4j-api-1.7.36.jar", "log4j-api-2.25.5.jar", "log4j-core-2.25.5.jar"],
      want: "org.apache.logging.log4j:log4j-slf4j-impl:2.25.5",
    },
    {
      jars: ["slf4j-api-2.0.17.jar", "log4j-core-2.25.5.jar"],
      want: "org.apache.logging.log4j:log4j-slf4j2-impl:2.25.5",
    },
    { jars: ["kafka_2.13-3.9.1.jar", "slf4j-api-1.7.36.jar"], want: "org.slf4j:slf4j-reload4j:1.7.36" },
    { jars: ["slf4j-api-1.7.36.jar", "slf4j-reload4j-1.7.36.jar"], want: undefined },
    {
      jars: ["slf4j-api-1.7.36.jar", "log4j-slf4j-impl-2.25.5.jar", "log4j-core-2.25.5.jar"],
      want: undefined,
    },
    { jars: ["kafka_2.13-4.4.0.jar"], want: undefined },
  ];
  for (const c of cases) {
    const b = loggingBinding(c.jars);
    assert.equal(b && `${b.groupId}:${b.artifactId}:${b.version}`, c.want, c.jars.join(" "));
  }
});

test("validateVersion accepts releases from 3.5 on and explains what is wrong otherwise", () => {
  assert.equal(validateVersion(" 4.4.0 ", "x"), "4.4.0");
  assert.equal(validateVersion("3.9.1", "x"), "3.9.1");
  assert.throws(
    () => validateVersion("4.1", "LAGSCALE_KAFKA_VERSION"),
    /LAGSCALE_KAFKA_VERSION.*release number/,
  );
  assert.throws(() => validateVersion("latest", "x"), /release number/);
  assert.throws(() => validateVersion("3.4.1", "x"), /too old/);
});

test("parseBootstrapServers takes host:port lists and rejects schemes and missing ports", () => {
  assert.deepEqual(parseBootstrapServers("a:9092, b.example:19092 ,[::1]:9092"), [
    "a:9092",
    "b.example:19092",
    "[::1]:9092",
  ]);
  assert.throws(() => parseBootstrapServers(" , "), /empty/);
  assert.throws(() => parseBootstrapServers("PLAINTEXT://a:9092"), /"PLAINTEXT:\/\/a:9092" is not host:port/);
  assert.throws(() => parseBootstrapServers("a"), /not host:port/);
  assert.throws(() => parseBootstrapServers("a:70000"), /not host:port/);
});

test("server.properties: auto-creation off, single-node factors, SASL only when asked", () => {
  const plain = renderServerProperties({ ports: { plaintext: 1, controller: 2 }, dataDir: "/d" });
  for (const line of [
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "group.initial.rebalance.delay.ms=0",
    "listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2",
    "controller.quorum.voters=1@127.0.0.1:2",
    "log.dirs=/d",
  ]) {
    assert.ok(plain.split("\n").includes(line), line);
  }
  assert.doesNotMatch(plain, /sasl/);
  const sasl = renderServerProperties({ ports: { plaintext: 1, controller: 2, sasl: 3 }, dataDir: "/d" });
  assert.match(
    sasl,
    /^advertised\.listeners=PLAINTEXT:\/\/127\.0\.0\.1:1,SASL_PLAINTEXT:\/\/127\.0\.0\.1:3$/m,
  );
  assert.match(sasl, /^sasl\.enabled\.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512$/m);
  assert.deepEqual(scramFormatArgs().filter((a) => a === "--add-scram").length, 2);
});

test("cluster ids are 22 base64url characters and never start with a dash", () => {
  for (let i = 0; i < 500; i++) {
    const id = newClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
});

test("secured listeners: SSL, MTLS (client certificate required) and SASL_SSL with four mechanisms", () => {
  const ports = { plaintext: 1, controller: 2, sasl: 3, tls: 4, mtls: 5, saslSsl: 6 };
  assert.throws(() => renderServerProperties({ ports, dataDir: "/d" }), /without certificates/);
  const props = renderServerProperties({
    ports,
    dataDir: "/d",
    tls: { keystorePem: "/pki/server.pem", truststorePem: "/pki/ca.crt" },
  });
  const lines = props.split("\n");
  for (const line of [
    "listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2,SASL_PLAINTEXT://127.0.0.1:3,SSL://127.0.0.1:4,MTLS://127.0.0.1:5,SASL_SSL://127.0.0.1:6",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL",
    "ssl.keystore.location=/pki/server.pem",
    "ssl.truststore.location=/pki/ca.crt",
    "listener.name.mtls.ssl.client.auth=required",
    "listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
  ]) {
    assert.ok(lines.includes(line), line);
  }
  // Only MTLS asks for client certificates.
  assert.equal(lines.filter((l) => l.includes("ssl.client.auth")).length, 1);
  assert.match(props, /plain\.sasl\.jaas\.config=.*user_lagscale-plain="lagscale-plain-secret";/);
  assert.match(props, /oauthbearer\.sasl\.jaas\.config=.*unsecuredValidatorRequiredScope="kafka";/);
  // Without TLS ports, no TLS settings at all.
  assert.doesNotMatch(
    renderServerProperties({ ports: { plaintext: 1, controller: 2 }, dataDir: "/d" }),
    /ssl/,
  );
});
