/**
 * lagscale.local/kafka:<version>: Apache Kafka made here, for testcontainers where apache/kafka cannot be
 * pulled. The Debian base (base-images.ts) + a JRE linked from this machine's JDK with jlink (about 60 MB; the
 * whole JDK when it has no jmods) + the broker's jars from Maven Central (the cache the local broker uses) and
 * kafka-tools' (for kafka-configs.sh and friends) + kafka-image/'s entry point, which follows apache/kafka's
 * contract (see kafka-image/Dockerfile).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BuiltImage } from "../types.js";
import { renderLog4j2Properties, renderPom } from "../kafka/config.js";
import { resolveKafka } from "../kafka/local.js";
import { repoRoot } from "../paths.js";
import { run } from "../process.js";
import { buildCached, listFiles, type Podman } from "./build.js";
import type { HashedInput } from "./inputs.js";

export const kafkaImageName = (version: string) => `lagscale.local/kafka:${version}`;

const IMAGE_DIR = path.join(repoRoot, "test", "stack", "containers", "kafka-image");

// What the broker and its tools use of the JDK; jdeps-style guesses miss reflective uses, so generous.
const JRE_MODULES = [
  "java.base",
  "java.compiler",
  "java.desktop",
  "java.instrument",
  "java.logging",
  "java.management",
  "java.management.rmi",
  "java.naming",
  "java.net.http",
  "java.rmi",
  "java.scripting",
  "java.security.jgss",
  "java.security.sasl",
  "java.sql",
  "java.transaction.xa",
  "java.xml",
  "jdk.crypto.ec",
  "jdk.jfr",
  "jdk.management",
  "jdk.naming.dns",
  "jdk.net",
  "jdk.security.auth",
  "jdk.security.jgss",
  "jdk.unsupported",
  "jdk.zipfs",
];

async function javaHome(): Promise<string> {
  const fromEnv = process.env.JAVA_HOME?.trim();
  if (fromEnv && existsSync(path.join(fromEnv, "bin", "java"))) return fromEnv;
  const r = await run("java", ["-XshowSettings:properties", "-version"]);
  const m = /^\s*java\.home = (.+)$/m.exec(r.output);
  if (r.code !== 0 || !m) {
    throw new Error(
      "the Kafka image needs a JDK 17+ on this machine (java on PATH or JAVA_HOME) to take its JRE from",
    );
  }
  return m[1]!.trim();
}

/** The broker's jars plus kafka-tools' (resolved once into the cache, like the broker's own). */
async function resolveImageJars(cacheDir: string, version: string, progress: (line: string) => void) {
  const broker = await resolveKafka(cacheDir, version, progress);
  const tools = path.join(cacheDir, `kafka-${version}`, "tools-libs");
  if (!existsSync(path.join(tools, `kafka-tools-${version}.jar`))) {
    progress(`resolving org.apache.kafka:kafka-tools:${version} with Maven (first time only)`);
    const work = await mkdtemp(path.join(path.dirname(tools), "tools-"));
    try {
      const pom = path.join(work, "pom.xml");
      await writeFile(
        pom,
        renderPom(version, [{ groupId: "org.apache.kafka", artifactId: "kafka-tools", version }]),
      );
      const out = path.join(work, "libs");
      const r = await run("mvn", [
        "-B",
        "-q",
        "-f",
        pom,
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        `-DoutputDirectory=${out}`,
      ]);
      if (r.code !== 0)
        throw new Error(
          `mvn could not resolve kafka-tools ${version} (exit ${r.code}):\n${r.output.slice(-1500)}`,
        );
      await rm(tools, { recursive: true, force: true });
      await rename(out, tools);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  return { broker, tools };
}

export async function ensureKafkaImage(o: {
  podman: Podman;
  debian: BuiltImage;
  version: string;
  cacheDir: string;
  logDir: string;
  progress: (line: string) => void;
}): Promise<BuiltImage> {
  const { broker, tools } = await resolveImageJars(o.cacheDir, o.version, o.progress);
  const jars = [...new Set([...readdirSync(broker), ...readdirSync(tools)])].sort();
  const home = await javaHome();
  const release = existsSync(path.join(home, "release"))
    ? readFileSync(path.join(home, "release"), "utf8")
    : home;
  const files: HashedInput[] = [];
  for (const rel of await listFiles(IMAGE_DIR)) {
    files.push({ name: `kafka-image/${rel}`, content: await readFile(path.join(IMAGE_DIR, rel)) });
  }
  const log4j2 = renderLog4j2Properties();
  const staging = path.join(tmpdir(), `lagscale-kafka-image-${process.pid}`);
  try {
    return await buildCached(
      o.podman,
      {
        name: kafkaImageName(o.version),
        dockerfile: path.join(IMAGE_DIR, "Dockerfile"),
        context: staging,
        inputs: [
          ...files,
          { name: "jars", content: jars.join("\n") },
          { name: "jdk", content: `${release}\n${JRE_MODULES.join(",")}` },
          { name: "log4j2", content: log4j2 },
          { name: "base", content: o.debian.id },
        ],
        buildArgs: { BASE: o.debian.tag },
        prepare: async () => {
          await rm(staging, { recursive: true, force: true });
          await cp(IMAGE_DIR, staging, { recursive: true });
          await mkdir(path.join(staging, "libs"), { recursive: true });
          // the broker's folder first: it holds the logging binding; tools add what they need besides
          for (const dir of [broker, tools]) {
            for (const jar of await readdir(dir)) {
              const to = path.join(staging, "libs", jar);
              if (!existsSync(to)) await cp(path.join(dir, jar), to);
            }
          }
          await mkdir(path.join(staging, "config"), { recursive: true });
          await writeFile(path.join(staging, "config", "log4j2.properties"), log4j2);
          await makeJre(home, path.join(staging, "jre"), o.progress);
        },
      },
      o.logDir,
      o.progress,
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function makeJre(home: string, out: string, progress: (line: string) => void): Promise<void> {
  if (existsSync(path.join(home, "jmods"))) {
    const r = await run(path.join(home, "bin", "jlink"), [
      "--add-modules",
      JRE_MODULES.join(","),
      "--strip-debug",
      "--no-header-files",
      "--no-man-pages",
      "--compress=2",
      "--output",
      out,
    ]);
    if (r.code === 0) return;
    progress(`jlink failed (exit ${r.code}), copying the whole JDK instead: ${r.output.trim().slice(-300)}`);
    await rm(out, { recursive: true, force: true });
  }
  // no jmods (a JRE-only install): the whole Java home, links resolved (Debian links its conf into /etc)
  await cp(home, out, { recursive: true, dereference: true });
}
