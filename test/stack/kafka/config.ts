/** Pure pieces of the local broker: version checks, the Maven pom, server.properties, logging config. */
import { randomBytes } from "node:crypto";

/**
 * The Kafka version the stack runs unless told otherwise (`version` option or LAGSCALE_KAFKA_VERSION).
 * Why this one, and which versions kafkajs was checked against: docs/kafka-versions.md.
 */
export const PINNED_KAFKA_VERSION = "4.4.0";

/** The other line, checked once by hand with the smoke tests (docs/kafka-versions.md). */
export const OTHER_KAFKA_VERSION = "3.9.1";

/** The SCRAM users a SASL listener gets. Test credentials for a throwaway broker, not secrets. */
export const SCRAM_USERS = [
  { mechanism: "scram-sha-256", username: "lagscale-256", password: "lagscale-256-secret" },
  { mechanism: "scram-sha-512", username: "lagscale-512", password: "lagscale-512-secret" },
] as const;

/** PLAIN users of the SASL_SSL listener. Test credentials for a throwaway broker, not secrets. */
export const PLAIN_USERS = [{ username: "lagscale-plain", password: "lagscale-plain-secret" }] as const;

/** The scope an OAUTHBEARER token must carry on the SASL_SSL listener (proves that `scopes` reach the token). */
export const OAUTH_REQUIRED_SCOPE = "kafka";

export function validateVersion(version: string, source: string): string {
  const v = version.trim();
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) {
    throw new Error(
      `${source}: Kafka version "${version}" is not a release number like ${PINNED_KAFKA_VERSION} ` +
        `(the version of org.apache.kafka:kafka_2.13 on Maven Central)`,
    );
  }
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < 3 || (major === 3 && minor < 5)) {
    throw new Error(
      `${source}: Kafka ${v} is too old for the local broker: it needs KRaft with SCRAM users at format time ` +
        `(3.5 or newer); use ${PINNED_KAFKA_VERSION} or ${OTHER_KAFKA_VERSION}`,
    );
  }
  return v;
}

export function majorOf(version: string): number {
  return Number(version.split(".")[0]);
}

export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
}

/**
 * The kafka_2.13 artifact declares slf4j-api but no logging backend (the release tarball adds one), so without
 * one the broker logs nothing. Given the jar names of a first resolve, the binding the tarball would carry:
 * log4j2's when log4j-core is there (Kafka 4.x), reload4j's otherwise (Kafka 3.x). Undefined when one is there.
 */
export function loggingBinding(jars: string[]): MavenArtifact | undefined {
  const bound = jars.some((j) => /^(slf4j-reload4j|slf4j-log4j12|slf4j-simple|log4j-slf4j2?-impl)-/.test(j));
  if (bound) return undefined;
  const slf4j = jars.map((j) => /^slf4j-api-(\d+)\.(\d+\.\d+)\.jar$/.exec(j)).find((m) => m !== null);
  if (!slf4j) return undefined;
  const slf4jMajor = Number(slf4j[1]);
  const log4j = jars.map((j) => /^log4j-core-(\d+\.\d+\.\d+)\.jar$/.exec(j)).find((m) => m !== null);
  if (log4j) {
    return {
      groupId: "org.apache.logging.log4j",
      artifactId: slf4jMajor >= 2 ? "log4j-slf4j2-impl" : "log4j-slf4j-impl",
      version: log4j[1]!,
    };
  }
  return { groupId: "org.slf4j", artifactId: "slf4j-reload4j", version: `${slf4j[1]}.${slf4j[2]}` };
}

/** A pom whose only purpose is `mvn dependency:copy-dependencies` of the broker and its runtime jars. */
export function renderPom(version: string, extra: MavenArtifact[] = []): string {
  const extraDeps = extra
    .map(
      (a) => `
    <dependency>
      <groupId>${a.groupId}</groupId>
      <artifactId>${a.artifactId}</artifactId>
      <version>${a.version}</version>
    </dependency>`,
    )
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lagscale.stack</groupId>
  <artifactId>kafka-broker-${version}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${version}</version>
    </dependency>${extraDeps}
  </dependencies>
</project>
`;
}

/** A KRaft cluster id: 16 random bytes, base64url without padding, never starting with "-" (as Kafka's Uuid). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

export interface BrokerPorts {
  plaintext: number;
  controller: number;
  sasl?: number;
  /** SSL (server authentication), SSL with client certificates required, and SASL_SSL. */
  tls?: number;
  mtls?: number;
  saslSsl?: number;
}

/** Kafka's PEM keystore (key + chain) and truststore (the CA) for the TLS listeners. */
export interface BrokerTlsFiles {
  keystorePem: string;
  truststorePem: string;
}

/** server.properties for one combined broker+controller node on loopback. */
export function renderServerProperties(options: {
  ports: BrokerPorts;
  dataDir: string;
  host?: string;
  /** Needed when any of the TLS ports is given. */
  tls?: BrokerTlsFiles;
}): string {
  const host = options.host ?? "127.0.0.1";
  const { ports } = options;
  const listeners = [`PLAINTEXT://${host}:${ports.plaintext}`, `CONTROLLER://${host}:${ports.controller}`];
  const advertised = [`PLAINTEXT://${host}:${ports.plaintext}`];
  const protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT", "SASL_PLAINTEXT:SASL_PLAINTEXT"];
  const add = (name: string, port: number | undefined) => {
    if (port === undefined) return;
    listeners.push(`${name}://${host}:${port}`);
    advertised.push(`${name}://${host}:${port}`);
  };
  add("SASL_PLAINTEXT", ports.sasl);
  add("SSL", ports.tls);
  add("MTLS", ports.mtls);
  add("SASL_SSL", ports.saslSsl);
  const anyTls = ports.tls !== undefined || ports.mtls !== undefined || ports.saslSsl !== undefined;
  if (anyTls && !options.tls) throw new Error("renderServerProperties: TLS ports given without certificates");
  if (anyTls) protocols.push("SSL:SSL", "MTLS:SSL", "SASL_SSL:SASL_SSL");
  const lines = [
    "# Written by lagscale's test stack: one KRaft node that is broker and controller at once.",
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${host}:${ports.controller}`,
    "controller.listener.names=CONTROLLER",
    `listeners=${listeners.join(",")}`,
    `advertised.listeners=${advertised.join(",")}`,
    `listener.security.protocol.map=${protocols.join(",")}`,
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${options.dataDir}`,
    "# Topics are created explicitly by tests and the demo.",
    "auto.create.topics.enable=false",
    "num.partitions=1",
    "default.replication.factor=1",
    "min.insync.replicas=1",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=3",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "transaction.state.log.num.partitions=3",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "num.network.threads=2",
    "num.io.threads=4",
    "num.recovery.threads.per.data.dir=1",
    "log.retention.check.interval.ms=300000",
  ];
  if (ports.sasl !== undefined) {
    const jaas = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
    lines.push(
      "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
      `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${jaas}`,
      `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${jaas}`,
    );
  }
  if (anyTls && options.tls) {
    lines.push(
      "# Every TLS listener serves the same certificate; MTLS also requires one from the client.",
      "ssl.keystore.type=PEM",
      `ssl.keystore.location=${options.tls.keystorePem}`,
      "ssl.truststore.type=PEM",
      `ssl.truststore.location=${options.tls.truststorePem}`,
      "listener.name.mtls.ssl.client.auth=required",
    );
  }
  if (ports.saslSsl !== undefined) {
    const scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;";
    const plainUsers = PLAIN_USERS.map((u) => `user_${u.username}="${u.password}"`).join(" ");
    lines.push(
      "listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
      `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
      `listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=${scram}`,
      `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=${scram}`,
      // No server callback handler: Kafka's unsecured-JWS validator, which checks exp, sub and the scope.
      "listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required " +
        `unsecuredLoginStringClaim_sub="lagscale-broker" unsecuredValidatorRequiredScope="${OAUTH_REQUIRED_SCOPE}";`,
    );
  }
  return lines.join("\n") + "\n";
}

/** `--add-scram` arguments for the storage tool, one per user. */
export function scramFormatArgs(): string[] {
  return SCRAM_USERS.flatMap((u) => [
    "--add-scram",
    `${u.mechanism.toUpperCase()}=[name=${u.username},password=${u.password}]`,
  ]);
}

/** Kafka 4.x logs through log4j2: INFO to stdout, which the stack sends to the broker's log file. */
export function renderLog4j2Properties(): string {
  return [
    "status = warn",
    "appender.out.type = Console",
    "appender.out.name = out",
    "appender.out.layout.type = PatternLayout",
    "appender.out.layout.pattern = [%d] %p %m (%c)%n",
    "rootLogger.level = info",
    "rootLogger.appenderRef.out.ref = out",
    "logger.state.name = state.change.logger",
    "logger.state.level = warn",
    "logger.raft.name = org.apache.kafka.raft",
    "logger.raft.level = warn",
    "logger.config.name = org.apache.kafka.common.config.AbstractConfig",
    "logger.config.level = warn",
    "",
  ].join("\n");
}

/** Kafka 3.x logs through reload4j (log4j 1 configuration). */
export function renderLog4jProperties(): string {
  return [
    "log4j.rootLogger=INFO, stdout",
    "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
    "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
    "log4j.logger.state.change.logger=WARN",
    "log4j.logger.org.apache.kafka.raft=WARN",
    "log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN",
    "",
  ].join("\n");
}
