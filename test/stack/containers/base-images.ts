/**
 * The base images, made here because no registry is reachable: a Debian bookworm root file system from
 * `debootstrap --variant=minbase` imported as lagscale.local/debian (about 30 s, shared by the Node.js and
 * Kafka images), and lagscale.local/node-base: that plus this machine's Node.js and npm. Both are tagged with
 * the hash of their recipe, like every image of the test command (build.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BuiltImage } from "../types.js";
import { repoRoot } from "../paths.js";
import { run } from "../process.js";
import { buildCached, imageExists, imageFacts, podman, type Podman } from "./build.js";
import { hashedTag, inputsHash } from "./inputs.js";

export const DEBIAN_IMAGE = "lagscale.local/debian:bookworm";
export const NODE_BASE_IMAGE = "lagscale.local/node-base:dev";

// what a runtime image does not need; part of the recipe's hash
const PRUNED = ["usr/share/doc", "usr/share/man", "usr/share/locale", "var/lib/apt/lists", "var/cache/apt"];

export async function ensureDebianBase(p: Podman, progress: (line: string) => void): Promise<BuiltImage> {
  const recipe = `debootstrap --variant=minbase bookworm ${process.arch}; pruned ${PRUNED.join(",")}`;
  const tag = hashedTag(DEBIAN_IMAGE, inputsHash([{ name: "recipe", content: recipe }]));
  const started = Date.now();
  let built = false;
  if (!(await imageExists(p, tag))) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `making ${DEBIAN_IMAGE} needs root (debootstrap); run as root once, or set LAGSCALE_NODE_BASE to an ` +
          "image with Node.js 20+ and npm and LAGSCALE_KAFKA_IMAGE to a Kafka image",
      );
    }
    progress(`making ${DEBIAN_IMAGE} with debootstrap (about 30 s; first time on this machine)`);
    const rootfs = await mkdtemp(path.join(tmpdir(), "lagscale-rootfs-"));
    try {
      const boot = await run("debootstrap", ["--variant=minbase", "bookworm", rootfs]);
      if (boot.code !== 0) {
        throw new Error(
          `debootstrap failed (exit ${boot.code}); are Debian's package mirrors reachable?\n${boot.output.slice(-1500)}`,
        );
      }
      for (const dir of PRUNED) {
        await rm(path.join(rootfs, dir), { recursive: true, force: true });
      }
      const imported = await run(
        "sh",
        ["-c", 'tar -C "$1" -c . | "$2" import --change \'CMD ["bash"]\' - "$3"', "sh", rootfs, p.bin, tag],
        { env: p.env },
      );
      if (imported.code !== 0) {
        throw new Error(
          `podman import of ${tag} failed (exit ${imported.code}): ${imported.output.slice(-800)}`,
        );
      }
      built = true;
    } finally {
      await rm(rootfs, { recursive: true, force: true });
    }
  }
  await podman(p, ["tag", tag, DEBIAN_IMAGE]);
  const facts = await imageFacts(p, tag);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  return { name: DEBIAN_IMAGE, tag, ...facts, built, seconds };
}

/** This machine's npm folder (next to the node binary, as Node.js installs it). */
function npmDir(): string {
  const dir = path.join(path.dirname(path.dirname(process.execPath)), "lib", "node_modules", "npm");
  if (!existsSync(path.join(dir, "package.json"))) {
    throw new Error(
      `no npm next to ${process.execPath} (looked in ${dir}); set LAGSCALE_NODE_BASE to an image with Node.js and npm`,
    );
  }
  return dir;
}

export async function ensureNodeBase(
  p: Podman,
  debian: BuiltImage,
  logDir: string,
  progress: (line: string) => void,
): Promise<BuiltImage> {
  const npm = npmDir();
  const npmVersion = (JSON.parse(readFileSync(path.join(npm, "package.json"), "utf8")) as { version: string })
    .version;
  const dockerfile = path.join(repoRoot, "test", "stack", "containers", "node-base", "Dockerfile");
  const staging = path.join(tmpdir(), `lagscale-node-base-${process.pid}`);
  try {
    return await buildCached(
      p,
      {
        name: NODE_BASE_IMAGE,
        alsoTag: [`lagscale.local/node-base:${process.versions.node}`],
        dockerfile,
        context: staging,
        // the versions name the binaries; hashing 100 MB of node on every run would cost more than it tells
        inputs: [
          { name: "node", content: `${process.version} ${process.arch}` },
          { name: "npm", content: npmVersion },
          { name: "base", content: debian.id },
        ],
        buildArgs: { BASE: debian.tag },
        prepare: async () => {
          await rm(staging, { recursive: true, force: true });
          await cp(process.execPath, path.join(staging, "node"));
          await cp(npm, path.join(staging, "npm"), { recursive: true });
        },
      },
      logDir,
      progress,
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
