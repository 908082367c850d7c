/**
 * The local broker: real Apache Kafka in KRaft mode (one node, broker and controller at once), from the
 * official `org.apache.kafka:kafka_2.13` artifact on Maven Central, resolved once with Maven into the cache
 * and run with `java -cp 'libs/*' kafka.Kafka server.properties`, detached, so that it outlives `stack up`.
 *
 * Layout:  <cacheDir>/kafka-<version>/{pom.xml,libs/}       jars, shared by every clone on the machine
 *          <stateDir>/kafka/{server.properties,log4j*,data/}  this broker's config and data
 *          <stateDir>/logs/kafka.log                          its output
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { KafkaInfo, KafkaPki } from "../types.js";
import { waitForBroker } from "./client.js";
import {
  majorOf,
  newClusterId,
  renderLog4j2Properties,
  renderLog4jProperties,
  renderPom,
  renderServerProperties,
  scramFormatArgs,
  SCRAM_USERS,
  PLAIN_USERS,
  OAUTH_REQUIRED_SCOPE,
  type BrokerPorts,
  type MavenArtifact,
  loggingBinding,
} from "./config.js";
import { ensureKafkaPki } from "./pki.js";
import { freePorts, isAlive, portInUse, run, spawnDetached, stopProcess, tail } from "../process.js";

export interface LocalHandle {
  pid: number;
  /** Marker in the java command line: proves that a pid is still our broker. */
  marker: string;
  ports: BrokerPorts;
  home: string;
  dataDir: string;
  logFile: string;
  java: string;
  args: string[];
  cwd: string;
  clusterId: string;
  /** Certificates of the TLS listeners, when there are any. */
  pki?: KafkaPki;
}

export interface LocalOptions {
  stateDir: string;
  cacheDir: string;
  version: string;
  sasl: boolean;
  /** TLS, mTLS and SASL_SSL listeners, with certificates cached in the state folder. */
  secured: boolean;
  progress: (line: string) => void;
}

const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 30_000;

function javaCommand(): string {
  const home = process.env.JAVA_HOME?.trim();
  return home ? path.join(home, "bin", "java") : "java";
}

async function checkJava(java: string, version: string): Promise<void> {
  let out;
  try {
    out = await run(java, ["-version"]);
  } catch (err) {
    throw new Error(
      `the local Kafka broker needs Java 17 or newer, but ${String(err instanceof Error ? err.message : err)}; ` +
        "install a JDK (apt-get install openjdk-17-jre-headless), set JAVA_HOME, or set KAFKA_BOOTSTRAP_SERVERS",
      { cause: err },
    );
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out.output);
  const feature = m ? (m[1] === "1" ? Number(m[2]) : Number(m[1])) : NaN;
  const needed = majorOf(version) >= 4 ? 17 : 11;
  if (!(feature >= needed)) {
    throw new Error(
      `Kafka ${version} needs Java ${needed} or newer, but \`${java} -version\` says: ` +
        `${out.output.split("\n")[0] ?? "(nothing)"}; set JAVA_HOME to a newer JDK`,
    );
  }
}

/** The broker's jars in the cache, resolving them with Maven the first time. */
export async function resolveKafka(
  cacheDir: string,
  version: string,
  progress: (line: string) => void,
): Promise<string> {
  const dir = path.join(cacheDir, `kafka-${version}`);
  const libs = path.join(dir, "libs");
  const hasBroker = (d: string) =>
    existsSync(d) && readdirSync(d).some((f) => f === `kafka_2.13-${version}.jar`);
  if (hasBroker(libs)) return libs;

  mkdirSync(dir, { recursive: true });
  // Resolve into a private folder and rename at the end, so that a concurrent or interrupted resolve never
  // leaves a half-filled libs/ behind.
  const tmp = path.join(dir, `libs.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  progress(`resolving org.apache.kafka:kafka_2.13:${version} with Maven into ${libs} (first time only)`);
  const started = Date.now();
  let downloaded = 0;
  let lastReport = Date.now();
  const copy = async (extra: MavenArtifact[]) => {
    const pom = path.join(dir, "pom.xml");
    writeFileSync(pom, renderPom(version, extra));
    let result;
    try {
      result = await run(
        "mvn",
        [
          "-B",
          "-f",
          pom,
          "dependency:copy-dependencies",
          "-DincludeScope=runtime",
          `-DoutputDirectory=${tmp}`,
        ],
        {
          onLine: (line) => {
            if (!line.includes("Downloaded from")) return;
            downloaded++;
            if (Date.now() - lastReport >= 3000) {
              lastReport = Date.now();
              progress(`maven: ${downloaded} files downloaded so far`);
            }
          },
        },
      );
    } catch (err) {
      throw new Error(
        `resolving Kafka needs Maven: ${String(err instanceof Error ? err.message : err)}; ` +
          "install it (apt-get install maven), or set KAFKA_BOOTSTRAP_SERVERS to an existing cluster",
        { cause: err },
      );
    }
    if (result.code !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      const errors = result.output
        .split("\n")
        .filter((l) => l.includes("[ERROR]"))
        .slice(0, 8)
        .join("\n");
      throw new Error(
        `mvn could not resolve org.apache.kafka:kafka_2.13:${version} (exit ${result.code}); is the version ` +
          `published and Maven Central reachable?\n${errors || result.output.slice(-2000)}`,
      );
    }
  };
  await copy([]);
  // The artifact brings no logging backend; add the one its release tarball ships, or the broker logs nothing.
  const binding = existsSync(tmp) ? loggingBinding(readdirSync(tmp)) : undefined;
  if (binding) {
    progress(`adding the logging backend ${binding.groupId}:${binding.artifactId}:${binding.version}`);
    await copy([binding]);
  }
  if (!hasBroker(tmp)) {
    throw new Error(`mvn finished but ${tmp} holds no kafka_2.13-${version}.jar`);
  }
  if (hasBroker(libs)) {
    // Another process finished first; keep its copy.
    rmSync(tmp, { recursive: true, force: true });
  } else {
    rmSync(libs, { recursive: true, force: true });
    renameSync(tmp, libs);
  }
  progress(
    `resolved Kafka ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(${readdirSync(libs).length} jars, ${downloaded} files downloaded)`,
  );
  return libs;
}

function spawnBroker(h: Omit<LocalHandle, "pid">): number {
  return spawnDetached(h.java, h.args, h.logFile, { cwd: h.cwd }).pid;
}

async function waitReady(info: KafkaInfo, h: LocalHandle): Promise<void> {
  try {
    await waitForBroker(info.bootstrapServers, READY_TIMEOUT_MS, () => isAlive(h.pid, h.marker));
  } catch (err) {
    await stopProcess(h.pid, h.marker, 5000).catch(() => undefined);
    throw new Error(
      `${String(err instanceof Error ? err.message : err)}\nlast lines of ${h.logFile}:\n${tail(h.logFile, 30)}`,
      { cause: err },
    );
  }
}

export async function startLocal(o: LocalOptions): Promise<KafkaInfo> {
  const java = javaCommand();
  await checkJava(java, o.version);
  const libs = await resolveKafka(o.cacheDir, o.version, o.progress);

  const home = path.join(o.stateDir, "kafka");
  const dataDir = path.join(home, "data");
  const logFile = path.join(o.stateDir, "logs", "kafka.log");
  const pidFile = path.join(home, "broker.json");
  if (existsSync(pidFile)) {
    const previous = JSON.parse(readFileSync(pidFile, "utf8")) as { pid: number; marker: string };
    if (isAlive(previous.pid, previous.marker)) {
      throw new Error(
        `a Kafka broker started from ${o.stateDir} still runs (pid ${previous.pid}); ` +
          "stop it first (npm run stack -- down) or use another state folder",
      );
    }
  }
  // A fresh broker: whatever an earlier, crashed run left in this state folder goes.
  rmSync(home, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });

  const [plaintext, controller, sasl, tls, mtls, saslSsl] = await freePorts(6);
  const ports: BrokerPorts = { plaintext: plaintext!, controller: controller! };
  if (o.sasl) ports.sasl = sasl!;
  const pki = o.secured ? await ensureKafkaPki(o.stateDir, o.progress) : undefined;
  if (pki) Object.assign(ports, { tls: tls!, mtls: mtls!, saslSsl: saslSsl! });
  const serverProperties = path.join(home, "server.properties");
  writeFileSync(
    serverProperties,
    renderServerProperties({
      ports,
      dataDir,
      ...(pki ? { tls: { keystorePem: pki.serverPem, truststorePem: pki.ca } } : {}),
    }),
  );
  writeFileSync(path.join(home, "log4j2.properties"), renderLog4j2Properties());
  writeFileSync(path.join(home, "log4j.properties"), renderLog4jProperties());

  const classpath = path.join(libs, "*");
  const clusterId = newClusterId();
  o.progress(`formatting KRaft storage in ${dataDir}`);
  const format = await run(
    java,
    [
      "-cp",
      classpath,
      `-Dlog4j2.configurationFile=${path.join(home, "log4j2.properties")}`,
      `-Dlog4j.configuration=file:${path.join(home, "log4j.properties")}`,
      "kafka.tools.StorageTool",
      "format",
      "-t",
      clusterId,
      "-c",
      serverProperties,
      ...(o.sasl || o.secured ? scramFormatArgs() : []),
    ],
    { cwd: home },
  );
  if (format.code !== 0) {
    throw new Error(`kafka storage format failed (exit ${format.code}):\n${format.output.slice(-3000)}`);
  }

  const marker = `-Dlagscale.kafka.home=${home}`;
  const handleBase: Omit<LocalHandle, "pid"> = {
    marker,
    ports,
    home,
    dataDir,
    logFile,
    java,
    cwd: home,
    clusterId,
    ...(pki ? { pki } : {}),
    args: [
      "-Xms256m",
      "-Xmx1g",
      "-XX:+UseG1GC",
      "-XX:MaxGCPauseMillis=20",
      "-Djava.awt.headless=true",
      marker,
      `-Dlog4j2.configurationFile=${path.join(home, "log4j2.properties")}`,
      `-Dlog4j.configuration=file:${path.join(home, "log4j.properties")}`,
      "-cp",
      classpath,
      "kafka.Kafka",
      serverProperties,
    ],
  };
  o.progress(`starting Kafka ${o.version} on 127.0.0.1:${ports.plaintext} (log: ${logFile})`);
  const handle: LocalHandle = { ...handleBase, pid: spawnBroker(handleBase) };
  writeFileSync(pidFile, JSON.stringify({ pid: handle.pid, marker }));
  const info = toInfo(o.version, handle);
  await waitReady(info, handle);
  return info;
}

function toInfo(version: string, handle: LocalHandle): KafkaInfo {
  const info: KafkaInfo = {
    kind: "local",
    version,
    bootstrapServers: [`127.0.0.1:${handle.ports.plaintext}`],
    handle: { ...handle },
  };
  if (handle.ports.sasl !== undefined) {
    info.sasl = {
      bootstrapServers: [`127.0.0.1:${handle.ports.sasl}`],
      users: SCRAM_USERS.map((u) => ({ ...u })),
    };
  }
  const h = handle;
  if (h.pki && h.ports.tls !== undefined && h.ports.mtls !== undefined && h.ports.saslSsl !== undefined) {
    info.secured = {
      tls: [`127.0.0.1:${h.ports.tls}`],
      mtls: [`127.0.0.1:${h.ports.mtls}`],
      saslSsl: [`127.0.0.1:${h.ports.saslSsl}`],
      plainUsers: PLAIN_USERS.map((u) => ({ ...u })),
      oauthRequiredScope: OAUTH_REQUIRED_SCOPE,
      pki: { ...h.pki },
    };
  }
  return info;
}

/** Reads the local handle back from a KafkaInfo (e.g. one parsed from stack.json), checking its shape. */
export function localHandle(info: KafkaInfo): LocalHandle {
  const h = info.handle as Partial<LocalHandle>;
  const ok =
    typeof h.pid === "number" &&
    typeof h.marker === "string" &&
    typeof h.home === "string" &&
    typeof h.dataDir === "string" &&
    typeof h.logFile === "string" &&
    typeof h.java === "string" &&
    typeof h.cwd === "string" &&
    Array.isArray(h.args) &&
    typeof h.ports?.plaintext === "number";
  if (!ok) {
    throw new Error(
      "this KafkaInfo has kind local but its handle lacks pid/marker/home/ports/java/args; " +
        "it was not written by startKafka (is stack.json from an older version? run `npm run stack -- down`)",
    );
  }
  return h as LocalHandle;
}

export async function localStatus(info: KafkaInfo): Promise<"running" | "stopped"> {
  const h = localHandle(info);
  return isAlive(h.pid, h.marker) ? "running" : "stopped";
}

export async function stopLocal(info: KafkaInfo): Promise<void> {
  const h = localHandle(info);
  await stopProcess(h.pid, h.marker, STOP_GRACE_MS);
}

export async function restartLocal(info: KafkaInfo): Promise<KafkaInfo> {
  const h = localHandle(info);
  if (isAlive(h.pid, h.marker)) await stopProcess(h.pid, h.marker, STOP_GRACE_MS);
  if (!existsSync(h.dataDir)) {
    throw new Error(`cannot restart Kafka: its data folder ${h.dataDir} is gone (was it destroyed?)`);
  }
  const p = h.ports;
  for (const port of [p.plaintext, p.controller, p.sasl, p.tls, p.mtls, p.saslSsl]) {
    if (port !== undefined && (await portInUse(port))) {
      throw new Error(
        `cannot restart Kafka on the same ports: 127.0.0.1:${port} is taken by another process meanwhile`,
      );
    }
  }
  const { pid: _old, ...base } = h;
  const handle: LocalHandle = { ...base, pid: spawnBroker(base) };
  writeFileSync(path.join(h.home, "broker.json"), JSON.stringify({ pid: handle.pid, marker: h.marker }));
  const next = toInfo(info.version, handle);
  await waitReady(next, handle);
  return next;
}

export async function destroyLocal(info: KafkaInfo): Promise<void> {
  const h = localHandle(info);
  await stopProcess(h.pid, h.marker, STOP_GRACE_MS);
  rmSync(h.home, { recursive: true, force: true });
}
