/**
 * Every image of the test command, built with podman and cached by content (build.ts): the Debian and Node.js
 * bases, the controller, the sidecar and the demo apps from their Dockerfiles, and the Kafka image for
 * testcontainers. A warm run hashes the inputs and finds every hashed tag: nothing is built.
 *
 *   LAGSCALE_NODE_BASE=<image>   base of the app images instead of lagscale.local/node-base (e.g. node:20-bookworm-slim)
 *   LAGSCALE_KAFKA_IMAGE=<image> no Kafka image is made; testcontainers runs that one
 */
import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BuiltImage } from "../types.js";
import { repoRoot } from "../paths.js";
import { run } from "../process.js";
import { ensureDebianBase, ensureNodeBase } from "./base-images.js";
import { buildCached, imageFacts, listFiles, megabytes, type CachedBuild, type Podman } from "./build.js";
import { contextSources, ignoreMatcher, normalizeSource, type HashedInput } from "./inputs.js";
import { ensureKafkaImage } from "./kafka-image.js";

/** The images pods and manifests name (test/stack/pod-runner/images.ts, demo-apps/*, the chart). */
export const APP_IMAGES = [
  { name: "lagscale/controller:dev", dockerfile: "controller/Dockerfile" },
  { name: "lagscale/sidecar:dev", dockerfile: "sidecar/Dockerfile" },
  { name: "lagscale/demo-producer:dev", dockerfile: "demo-apps/producer/Dockerfile" },
  { name: "lagscale/demo-consumer:dev", dockerfile: "demo-apps/consumer/Dockerfile" },
  { name: "lagscale/demo-job-worker:dev", dockerfile: "demo-apps/job-worker/Dockerfile" },
] as const;

/** The files a Dockerfile copies from the repository (its ignore file applied), with the ignore file itself. */
export async function dockerfileInputs(
  dockerfile: string,
  ignorefile: string | undefined,
): Promise<HashedInput[]> {
  const ignoreText = ignorefile ? await readFile(ignorefile, "utf8") : "";
  const ignored = ignoreMatcher(ignoreText);
  const inputs: HashedInput[] = [{ name: "ignorefile", content: ignoreText }];
  for (const src of contextSources(await readFile(dockerfile, "utf8"))) {
    const rel = normalizeSource(src);
    const full = path.join(repoRoot, rel);
    if (!existsSync(full))
      throw new Error(`${dockerfile} copies ${src}, which does not exist in ${repoRoot}`);
    const files = statSync(full).isDirectory()
      ? (await listFiles(full, (r) => ignored(rel ? `${rel}/${r}` : r))).map((r) => (rel ? `${rel}/${r}` : r))
      : ignored(rel)
        ? []
        : [rel];
    for (const f of files) inputs.push({ name: f, content: await readFile(path.join(repoRoot, f)) });
  }
  return inputs;
}

/**
 * What RUN steps mount (never part of an image): npm's cache of this machine, so `npm ci` in a build reads the
 * tarballs `npm ci` here fetched, and the CA file npm here trusts (a registry behind a TLS-inspecting proxy).
 */
async function npmVolumes(cacheDir: string): Promise<string[]> {
  const get = async (key: string) => (await run("npm", ["config", "get", key])).output.trim();
  const volumes: string[] = [];
  const npmCache = await get("cache");
  if (npmCache && existsSync(npmCache)) volumes.push(`${npmCache}:/root/.npm`);
  const cafile = await get("cafile");
  if (cafile && cafile !== "null" && cafile !== "undefined" && existsSync(cafile)) {
    const npmrc = path.join(cacheDir, "containers", "build-npmrc");
    await mkdir(path.dirname(npmrc), { recursive: true });
    await writeFile(npmrc, "cafile=/etc/ssl/certs/build-ca.crt\n");
    volumes.push(`${cafile}:/etc/ssl/certs/build-ca.crt:ro`, `${npmrc}:/usr/local/etc/npmrc:ro`);
  }
  return volumes;
}

/** The build of one app image on `base` (its reference and id); `extra` does not change the hash. */
export async function appBuild(
  app: (typeof APP_IMAGES)[number],
  base: { ref: string; id: string },
  extra: { volumes?: string[]; commit?: string } = {},
): Promise<CachedBuild> {
  const dockerfile = path.join(repoRoot, app.dockerfile);
  const ignorefile = existsSync(`${dockerfile}.dockerignore`) ? `${dockerfile}.dockerignore` : undefined;
  return {
    name: app.name,
    dockerfile,
    context: repoRoot,
    ...(ignorefile ? { ignorefile } : {}),
    inputs: [...(await dockerfileInputs(dockerfile, ignorefile)), { name: "base", content: base.id }],
    buildArgs: { BASE: base.ref },
    // the commit of the first build of this content; a commit that changes nothing the image holds reuses it
    unhashedArgs: { GIT_COMMIT: extra.commit ?? "unknown" },
    ...(extra.volumes ? { volumes: extra.volumes } : {}),
  };
}

export async function ensureImages(o: {
  podman: Podman;
  cacheDir: string;
  logDir: string;
  kafkaVersion: string;
  env?: NodeJS.ProcessEnv;
  progress: (line: string) => void;
}): Promise<BuiltImage[]> {
  const env = o.env ?? process.env;
  const out: BuiltImage[] = [];
  const report = (img: BuiltImage) => {
    out.push(img);
    o.progress(
      `${img.name} = ${img.tag}: ${megabytes(img.bytes)}, ${img.built ? `built in ${img.seconds} s` : "cached"}`,
    );
    return img;
  };
  const givenBase = env.LAGSCALE_NODE_BASE?.trim();
  const givenKafka = env.LAGSCALE_KAFKA_IMAGE?.trim();
  const debian = !givenBase || !givenKafka ? report(await ensureDebianBase(o.podman, o.progress)) : undefined;

  let base: { ref: string; id: string };
  if (givenBase) {
    base = { ref: givenBase, id: (await imageFacts(o.podman, givenBase)).id };
  } else {
    const node = report(await ensureNodeBase(o.podman, debian!, o.logDir, o.progress));
    base = { ref: node.tag, id: node.id };
  }

  const volumes = await npmVolumes(o.cacheDir);
  const head = await run("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot });
  const commit = head.code === 0 ? head.output.trim() : "unknown";
  for (const app of APP_IMAGES) {
    report(await buildCached(o.podman, await appBuild(app, base, { volumes, commit }), o.logDir, o.progress));
  }

  if (!givenKafka) {
    report(
      await ensureKafkaImage({
        podman: o.podman,
        debian: debian!,
        version: o.kafkaVersion,
        cacheDir: o.cacheDir,
        logDir: o.logDir,
        progress: o.progress,
      }),
    );
  }
  return out;
}
