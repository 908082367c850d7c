/**
 * One cached image build with podman: the image is tagged with the hash of its inputs (inputs.ts) and with
 * its usual name; when the hashed tag exists nothing is built and the usual name is pointed at it again.
 * Builds use the host network (no bridge addresses) and never pull (no registry is reachable here).
 */
import { mkdirSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BuiltImage } from "../types.js";
import { run, tail } from "../process.js";
import { hashedTag, inputsHash, type HashedInput } from "./inputs.js";

/** How to call podman: the program and the env holding lagscale's CONTAINERS_CONF. */
export interface Podman {
  bin: string;
  env: NodeJS.ProcessEnv;
}

export async function podman(p: Podman, args: string[]): Promise<string> {
  const r = await run(p.bin, args, { env: p.env });
  if (r.code !== 0)
    throw new Error(`podman ${args.join(" ")} failed (exit ${r.code}): ${r.output.trim().slice(-800)}`);
  return r.output.trim();
}

export async function imageExists(p: Podman, ref: string): Promise<boolean> {
  return (await run(p.bin, ["image", "exists", ref], { env: p.env })).code === 0;
}

export async function imageFacts(p: Podman, ref: string): Promise<{ id: string; bytes: number }> {
  const out = await podman(p, ["image", "inspect", "--format", "{{.Id}} {{.Size}}", ref]);
  const [id, size] = out.split(/\s+/);
  return { id: id ?? "", bytes: Number(size) };
}

export interface CachedBuild {
  /** The usual name, e.g. lagscale/controller:dev; the hashed tag shares its repository. */
  name: string;
  /** More names for the same image (e.g. lagscale.local/node-base:20.20.2). */
  alsoTag?: string[];
  dockerfile: string;
  context: string;
  ignorefile?: string;
  /** What the image is made of besides the Dockerfile and the build arguments (added here). */
  inputs: HashedInput[];
  buildArgs?: Record<string, string>;
  /** Passed to the build but not hashed: a new value alone does not rebuild (GIT_COMMIT). */
  unhashedArgs?: Record<string, string>;
  /** Mounted during RUN steps only, never part of the image (npm's cache, a CA file). */
  volumes?: string[];
  /** Makes the context, when a build is needed (a staging folder). */
  prepare?: () => Promise<void>;
}

/** The tag of this build's result: the name's repository and the hash of everything the image is made of. */
export async function cachedTag(b: CachedBuild): Promise<string> {
  return hashedTag(
    b.name,
    inputsHash([
      ...b.inputs,
      { name: "dockerfile", content: await readFile(b.dockerfile) },
      ...Object.entries(b.buildArgs ?? {}).map(([k, v]) => ({ name: `arg:${k}`, content: v })),
    ]),
  );
}

export async function buildCached(
  p: Podman,
  b: CachedBuild,
  logDir: string,
  progress: (line: string) => void,
): Promise<BuiltImage> {
  const args = b.buildArgs ?? {};
  const tag = await cachedTag(b);
  const started = Date.now();
  let built = false;
  if (!(await imageExists(p, tag))) {
    await b.prepare?.();
    mkdirSync(logDir, { recursive: true });
    const log = path.join(logDir, `image-${b.name.replace(/[^a-zA-Z0-9.-]+/g, "_")}.log`);
    progress(`building ${b.name} as ${tag} (log ${log})`);
    const cmd = [
      "build",
      "--network",
      "host",
      "--pull=never",
      "-f",
      b.dockerfile,
      ...(b.ignorefile ? ["--ignorefile", b.ignorefile] : []),
      ...Object.entries({ ...args, ...b.unhashedArgs }).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      ...(b.volumes ?? []).flatMap((v) => ["-v", v]),
      "-t",
      tag,
      b.context,
    ];
    const r = await run(p.bin, cmd, { env: p.env });
    await writeFile(log, `$ podman ${cmd.join(" ")}\n${r.output}`);
    if (r.code !== 0)
      throw new Error(`building ${b.name} failed (exit ${r.code}); last lines of ${log}:\n${tail(log, 30)}`);
    built = true;
  }
  for (const name of [b.name, ...(b.alsoTag ?? [])]) await podman(p, ["tag", tag, name]);
  const facts = await imageFacts(p, tag);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  return { name: b.name, tag, id: facts.id, bytes: facts.bytes, built, seconds };
}

/** "123.4 MB" for progress lines and reports. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Files under `dir` (relative paths, sorted), without the folders `skip` refuses; symbolic links are not followed. */
export async function listFiles(
  dir: string,
  skip: (rel: string) => boolean = () => false,
  prefix = "",
): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (skip(rel)) continue;
    if (e.isDirectory()) out.push(...(await listFiles(dir, skip, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}
