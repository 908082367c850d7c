/**
 * The container engine of the local stack: whether podman can be used here, and how. The test command builds
 * the images and runs testcontainers through it; without one, those steps are skipped with the reason.
 *
 *   planEngine(facts)      pure: use podman as found, install the missing Debian packages, or give up (why)
 *   provisionEngine(opts)  gathers the facts, runs apt-get when the plan says so, writes lagscale's
 *                          containers.conf, and answers { usable, podman, env } or { usable: false, reason }
 *
 * Podman is configured through a containers.conf of lagscale's own (CONTAINERS_CONF; the system's file is
 * never edited): runc, cgroupfs, a file events logger and ulimits within this machine's hard limits, the
 * settings podman needs on these hosts (no systemd, no crun). LAGSCALE_CONTAINERS=off turns all of it off.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "../process.js";

/** Debian packages: the engine, the OCI runtime our containers.conf names, and what makes base images. */
export const ENGINE_PACKAGES = ["podman", "runc", "debootstrap"] as const;
type EnginePackage = (typeof ENGINE_PACKAGES)[number];

export interface EngineFacts {
  /** LAGSCALE_CONTAINERS as set (undefined when unset). */
  setting: string | undefined;
  /** Which of ENGINE_PACKAGES' programs are on PATH. */
  found: Record<EnginePackage, boolean>;
  /** A base image is given (LAGSCALE_NODE_BASE): no debootstrap needed. */
  baseGiven: boolean;
  root: boolean;
  debian: boolean;
  aptGet: boolean;
}

export type EnginePlan =
  | { action: "use" }
  | { action: "install"; packages: EnginePackage[] }
  | { action: "unavailable"; reason: string };

/** What LAGSCALE_CONTAINERS allows: "auto" (default) or "off"; anything else is a mistake worth an error. */
export function parseContainersSetting(raw: string | undefined): "auto" | "off" {
  const v = raw?.trim().toLowerCase();
  if (!v || v === "auto" || v === "on") return "auto";
  if (v === "off" || v === "0" || v === "false") return "off";
  throw new Error(
    `LAGSCALE_CONTAINERS=${JSON.stringify(raw)} is not "auto" or "off" (off: no podman, no image builds, ` +
      "container tests skip)",
  );
}

export function planEngine(f: EngineFacts): EnginePlan {
  if (parseContainersSetting(f.setting) === "off") {
    return { action: "unavailable", reason: "LAGSCALE_CONTAINERS=off" };
  }
  const needed = ENGINE_PACKAGES.filter((p) => !(p === "debootstrap" && f.baseGiven));
  const missing = needed.filter((p) => !f.found[p]);
  if (missing.length === 0) return { action: "use" };
  if (f.root && f.debian && f.aptGet) return { action: "install", packages: missing };
  const why = !f.debian ? "not Debian" : !f.aptGet ? "no apt-get" : "not root";
  return {
    action: "unavailable",
    reason:
      `${missing.join(", ")} not found on PATH and not installed automatically (${why}); install them ` +
      `(Debian: apt-get install ${ENGINE_PACKAGES.join(" ")}) or set LAGSCALE_CONTAINERS=off to silence this`,
  };
}

export interface Ulimits {
  nofile: number;
  nproc: number;
}

/** Container ulimits: generous for a JVM broker, never above the hard limits (podman refuses those). */
export function containerUlimits(hard: { nofile: number; nproc: number }): Ulimits {
  return { nofile: Math.min(65_536, hard.nofile), nproc: Math.min(4096, hard.nproc) };
}

export function renderContainersConf(u: Ulimits): string {
  return [
    "# Written by lagscale's test stack (test/stack/containers/engine.ts), read through CONTAINERS_CONF.",
    "[containers]",
    `default_ulimits = ["nofile=${u.nofile}:${u.nofile}", "nproc=${u.nproc}:${u.nproc}"]`,
    "",
    "[engine]",
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    "",
  ].join("\n");
}

export type Engine =
  | {
      usable: true;
      podman: string;
      version: string;
      containersConf: string;
      /** Env for every podman command (and the service): CONTAINERS_CONF. */
      env: NodeJS.ProcessEnv;
      /** Packages installed now, if any. */
      installed: string[];
    }
  | { usable: false; reason: string };

/** The program's full path on PATH (or in sbin), or undefined. */
function findProgram(program: string, env: NodeJS.ProcessEnv): string | undefined {
  const dirs = (env.PATH ?? "").split(path.delimiter).filter(Boolean);
  // sbin is where Debian puts runc and debootstrap; a non-login root shell may lack it in PATH
  for (const d of [...dirs, "/usr/sbin", "/sbin"]) {
    const full = path.join(d, program);
    if (existsSync(full)) return full;
  }
  return undefined;
}

/** Hard limits from /proc/<pid>/limits: "Max open files  20000  20000  files" → 20000 (unlimited → Infinity). */
export function parseHardLimits(procLimits: string): { nofile: number; nproc: number } {
  const hard = (label: string) => {
    const m = new RegExp(`^${label}\\s+(\\S+)\\s+(\\S+)`, "m").exec(procLimits);
    if (!m) throw new Error(`no "${label}" line in /proc/self/limits`);
    return m[2] === "unlimited" ? Infinity : Number(m[2]);
  };
  return { nofile: hard("Max open files"), nproc: hard("Max processes") };
}

async function aptInstall(packages: string[], progress: (line: string) => void): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => run("apt-get", ["install", "-y", "-qq", ...packages], { env });
  progress(`installing ${packages.join(" ")} with apt-get (LAGSCALE_CONTAINERS=off skips this)`);
  let result = await install();
  if (result.code !== 0) {
    // a fresh machine may have no package lists yet
    progress("apt-get install failed; running apt-get update and trying again");
    await run("apt-get", ["update", "-qq"], { env });
    result = await install();
  }
  if (result.code !== 0) {
    throw new Error(
      `apt-get install ${packages.join(" ")} failed (exit ${result.code}):\n${result.output.slice(-1500)}`,
    );
  }
}

/** Where lagscale's containers.conf lives: the cache, shared by the clones of this machine (same content). */
export function containersConfPath(cacheDir: string): string {
  return path.join(cacheDir, "containers", "containers.conf");
}

export async function provisionEngine(o: {
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
}): Promise<Engine> {
  const env = o.env ?? process.env;
  const progress = o.progress ?? (() => undefined);
  const found = Object.fromEntries(
    ENGINE_PACKAGES.map((p) => [p, findProgram(p, env) !== undefined] as const),
  ) as Record<EnginePackage, boolean>;
  const plan = planEngine({
    setting: env.LAGSCALE_CONTAINERS,
    found,
    baseGiven: Boolean(env.LAGSCALE_NODE_BASE?.trim()),
    root: process.getuid?.() === 0,
    debian: existsSync("/etc/debian_version"),
    aptGet: findProgram("apt-get", env) !== undefined,
  });
  if (plan.action === "unavailable") return { usable: false, reason: plan.reason };
  const installed: string[] = [];
  if (plan.action === "install") {
    try {
      await aptInstall(plan.packages, progress);
    } catch (err) {
      return { usable: false, reason: (err as Error).message };
    }
    installed.push(...plan.packages);
  }

  const containersConf = containersConfPath(o.cacheDir);
  await mkdir(path.dirname(containersConf), { recursive: true });
  const tmp = `${containersConf}.${process.pid}.tmp`;
  const limits = parseHardLimits(await readFile("/proc/self/limits", "utf8"));
  await writeFile(tmp, renderContainersConf(containerUlimits(limits)));
  await rename(tmp, containersConf);

  const podmanEnv: NodeJS.ProcessEnv = { ...env, CONTAINERS_CONF: containersConf };
  const podman = findProgram("podman", env);
  if (!podman) return { usable: false, reason: "podman was installed but is not on PATH" };
  const version = await run(podman, ["version", "--format", "{{.Client.Version}}"], { env: podmanEnv });
  if (version.code !== 0) {
    return {
      usable: false,
      reason: `podman is installed but \`podman version\` fails (exit ${version.code}): ${version.output.trim().slice(-500)}`,
    };
  }
  // `podman info` reads the configuration and finds the OCI runtime: the usual reasons podman cannot run here
  const info = await run(podman, ["info", "--format", "{{.Host.OCIRuntime.Name}}"], { env: podmanEnv });
  if (info.code !== 0) {
    return {
      usable: false,
      reason: `\`podman info\` fails with ${containersConf} (exit ${info.code}): ${info.output.trim().slice(-500)}`,
    };
  }
  return {
    usable: true,
    podman,
    version: version.output.trim(),
    containersConf,
    env: podmanEnv,
    installed,
  };
}
