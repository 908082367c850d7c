/**
 * Image name → local command. There is no container runtime in the local stack: a container's image names an
 * entry of this map, and the container runs as a local process with the image's entrypoint.
 *
 * Kubernetes' rules for `command`/`args` apply as if the entry were the image's ENTRYPOINT/CMD:
 * - `command` set: it replaces the entrypoint, and `args` (if any) follow it; the image's cmd is ignored.
 * - only `args` set: entrypoint + args.
 * - neither: entrypoint + cmd.
 *
 * Entries may use placeholders, replaced when the command is built: `${node}` (this Node.js executable),
 * `${tsx}` (tsx's loader, so `node --import ${tsx} file.ts` runs TypeScript), `${repoRoot}`.
 *
 * More entries come from JSON files (an object of image name → entry, same shape as below) named in
 * `LAGSCALE_POD_RUNNER_IMAGES` (several separated by the path delimiter `:`) or passed to the runner.
 * A later entry replaces an earlier one of the same name.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export interface ImageEntry {
  /** The image's ENTRYPOINT. May be empty: then the container must give `command` (or the entry a cmd). */
  entrypoint: string[];
  /** The image's CMD: default arguments when the container gives neither command nor args. */
  cmd?: string[];
  /** Working directory unless the container sets workingDir. Default: the repository root. */
  workingDir?: string;
  /** Environment the image brings (the container's env wins). */
  env?: Record<string, string>;
  /** One line for people reading the map. */
  description?: string;
}

export type ImageMap = Record<string, ImageEntry>;

/** The images every stack knows. The demo and tests add theirs through a JSON file (see above). */
export const BUILTIN_IMAGES: ImageMap = {
  "lagscale.local/node": {
    entrypoint: ["${node}", "--import", "${tsx}"],
    cmd: [],
    workingDir: "${repoRoot}",
    description: "Node.js with tsx from the repository root: args name any .ts or .js file of the repo",
  },
  "lagscale.local/host": {
    entrypoint: [],
    cmd: [],
    workingDir: "${repoRoot}",
    description: "no entrypoint: the container's command runs as is on the host (e.g. [sh, -c, ...])",
  },
  // The demo apps (demo-apps/*/Dockerfile): the same program and ENV, run from the TypeScript sources.
  "lagscale/demo-producer:dev": {
    entrypoint: ["${node}", "--import", "${tsx}", "demo-apps/producer/src/main.ts"],
    cmd: [],
    workingDir: "${repoRoot}",
    env: {
      NODE_ENV: "production",
      BIND_ADDRESS: ":5550",
      KAFKA_BROKER: "localhost:9092",
      KAFKA_TOPIC: "my-topic",
    },
    description: "the demo producer (demo-apps/producer), as its Dockerfile runs it",
  },
  "lagscale/demo-consumer:dev": {
    entrypoint: ["${node}", "--import", "${tsx}", "demo-apps/consumer/src/main.ts"],
    cmd: [],
    workingDir: "${repoRoot}",
    env: {
      NODE_ENV: "production",
      KAFKA_BROKER: "localhost:9092",
      KAFKA_TOPIC: "my-topic",
      KAFKA_CONSUMER_GROUP: "my-topic-consumers",
      SLEEP: "0",
    },
    description: "the demo consumer (demo-apps/consumer), as its Dockerfile runs it",
  },
  "lagscale/demo-job-worker:dev": {
    entrypoint: ["${node}", "--import", "${tsx}", "demo-apps/job-worker/src/main.ts"],
    cmd: [],
    workingDir: "${repoRoot}",
    env: { NODE_ENV: "production", WORK_SECONDS: "1" },
    description: "the demo job worker (demo-apps/job-worker), as its Dockerfile runs it",
  },
  // The sidecar (sidecar/Dockerfile runs the compiled JS). Here it runs from the TypeScript sources like the
  // demo apps, so a pod always runs the code of the checkout, never a stale dist/; its compiled cost is
  // measured on its own (docs/sidecar.md).
  "lagscale/sidecar:dev": {
    entrypoint: ["${node}", "--import", "${tsx}", "sidecar/main.ts"],
    cmd: [],
    workingDir: "${repoRoot}",
    env: { NODE_ENV: "production" },
    description: "the lagscale sidecar (sidecar/), as its Dockerfile runs it",
  },
  // The controller, run from the sources like the sidecar.
  "lagscale/controller:dev": {
    entrypoint: ["${node}", "--import", "${tsx}", "controller/main.ts"],
    cmd: [],
    workingDir: "${repoRoot}",
    env: { NODE_ENV: "production" },
    description: "the lagscale controller (controller/main.ts)",
  },
};

export const IMAGES_ENV = "LAGSCALE_POD_RUNNER_IMAGES";

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

/** Validates a parsed JSON image map; `source` names the file in error messages. */
export function parseImageMap(json: unknown, source: string): ImageMap {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new Error(
      `${source}: expected a JSON object of image name → {entrypoint, cmd?, workingDir?, env?}`,
    );
  }
  const out: ImageMap = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    const where = `${source}: image ${JSON.stringify(name)}`;
    if (!name || /\s/.test(name)) throw new Error(`${where}: an image name must be non-empty without spaces`);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new Error(
        `${where}: expected an object like {"entrypoint": ["\${node}", "--import", "\${tsx}"]}`,
      );
    }
    const e = raw as Record<string, unknown>;
    const known = new Set(["entrypoint", "cmd", "workingDir", "env", "description"]);
    for (const key of Object.keys(e)) {
      if (!known.has(key))
        throw new Error(`${where}: unknown field ${JSON.stringify(key)} (known: ${[...known].join(", ")})`);
    }
    if (!isStringArray(e.entrypoint))
      throw new Error(`${where}: "entrypoint" must be an array of strings (may be [])`);
    if (e.cmd !== undefined && !isStringArray(e.cmd))
      throw new Error(`${where}: "cmd" must be an array of strings`);
    if (e.workingDir !== undefined && typeof e.workingDir !== "string") {
      throw new Error(`${where}: "workingDir" must be a string`);
    }
    if (e.description !== undefined && typeof e.description !== "string") {
      throw new Error(`${where}: "description" must be a string`);
    }
    let env: Record<string, string> | undefined;
    if (e.env !== undefined) {
      if (typeof e.env !== "object" || e.env === null || Array.isArray(e.env)) {
        throw new Error(`${where}: "env" must be an object of name → string`);
      }
      env = {};
      for (const [k, v] of Object.entries(e.env as Record<string, unknown>)) {
        if (typeof v !== "string") throw new Error(`${where}: env ${k} must be a string, got ${typeof v}`);
        env[k] = v;
      }
    }
    out[name] = {
      entrypoint: e.entrypoint,
      ...(e.cmd !== undefined ? { cmd: e.cmd as string[] } : {}),
      ...(e.workingDir !== undefined ? { workingDir: e.workingDir as string } : {}),
      ...(env ? { env } : {}),
      ...(e.description !== undefined ? { description: e.description as string } : {}),
    };
  }
  return out;
}

export function readImageMapFile(file: string): ImageMap {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read image map ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`image map ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseImageMap(json, file);
}

/** The built-in map plus the files in `extraFiles` and in LAGSCALE_POD_RUNNER_IMAGES, later ones winning. */
export function loadImageMap(extraFiles: string[] = [], env: NodeJS.ProcessEnv = process.env): ImageMap {
  const fromEnv = (env[IMAGES_ENV] ?? "")
    .split(path.delimiter)
    .map((f) => f.trim())
    .filter(Boolean);
  let map: ImageMap = { ...BUILTIN_IMAGES };
  for (const file of [...extraFiles, ...fromEnv]) map = { ...map, ...readImageMapFile(file) };
  return map;
}

/**
 * The names to look an image up by, most specific first: as written, without the digest, without the tag.
 * `host:5000/app:1.2@sha256:..` → [that, `host:5000/app:1.2`, `host:5000/app`].
 */
export function imageLookupNames(image: string): string[] {
  const names = [image];
  const at = image.indexOf("@");
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  names.push(noDigest);
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.indexOf(":", lastSlash + 1);
  if (colon >= 0) names.push(noDigest.slice(0, colon));
  return [...new Set(names)];
}

export function findImage(map: ImageMap, image: string): ImageEntry | undefined {
  for (const name of imageLookupNames(image)) {
    const entry = map[name];
    if (entry) return entry;
  }
  return undefined;
}

export interface Placeholders {
  node: string;
  tsx: string;
  repoRoot: string;
}

export function substitute(s: string, p: Placeholders): string {
  return s.replace(/\$\{(node|tsx|repoRoot)\}/g, (_m, key: keyof Placeholders) => p[key]);
}

/**
 * Kubernetes' rules for a container's process: `command` replaces the image's entrypoint (and drops its cmd),
 * `args` alone replace the cmd. Throws an actionable error when nothing is left to run.
 */
export function kubernetesArgv(
  image: string,
  img: { entrypoint: string[]; cmd: string[] },
  container: { command?: string[]; args?: string[] },
): string[] {
  const argv =
    container.command && container.command.length > 0
      ? [...container.command, ...(container.args ?? [])]
      : [...img.entrypoint, ...(container.args && container.args.length > 0 ? container.args : img.cmd)];
  if (argv.length === 0) {
    throw new Error(`image ${image} has no entrypoint and the container sets no command: give it a command`);
  }
  return argv;
}

export interface ContainerCommand {
  argv: string[];
  workingDir: string;
  imageEnv: Record<string, string>;
}

/**
 * The process to run for a container: Kubernetes' command/args rules against the entry. `command` and `args`
 * are used as given (the caller has already expanded `$(VAR)` references). Throws an actionable error when
 * the result is empty.
 */
export function containerCommand(
  image: string,
  entry: ImageEntry,
  container: { command?: string[]; args?: string[]; workingDir?: string },
  p: Placeholders,
): ContainerCommand {
  const entrypoint = entry.entrypoint.map((s) => substitute(s, p));
  const cmd = (entry.cmd ?? []).map((s) => substitute(s, p));
  const argv = kubernetesArgv(image, { entrypoint, cmd }, container);
  const imageEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry.env ?? {})) imageEnv[k] = substitute(v, p);
  return {
    argv,
    workingDir: container.workingDir || substitute(entry.workingDir ?? "${repoRoot}", p),
    imageEnv,
  };
}
