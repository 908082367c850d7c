/**
 * The container engine of the pod runner: podman, given as a command and the environment to run it with
 * (`LAGSCALE_POD_RUNNER_ENGINE`, the runner's own environment passed through: CONTAINERS_CONF,
 * CONTAINER_HOST...). It answers whether an image is in the engine (briefly cached), runs one container
 * attached (`podman run`, output to the container's log file), stops it (`podman stop -t <grace>`, then
 * `rm`), and removes what an earlier runner of the same stack left behind. The argument lists are
 * podman-args.ts's.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "../../../core/log.js";
import { sleep } from "../process.js";
import {
  containerEnd,
  parseImageInspect,
  RUNNER_LABEL,
  type ImageConfig,
  type InspectState,
  type RunPlan,
} from "./podman-args.js";
import { signalGroup, startProcess, type ContainerProcess, type Exit } from "./process.js";

const execFileAsync = promisify(execFile);

/** How long an answer of `image exists` holds: images built while the stack runs are seen within this. */
const IMAGE_CACHE_MS = 5_000;
/** How long `podman run` may take to create the container (cid file written) before it counts as running. */
const CREATE_TIMEOUT_MS = 60_000;

export const ENGINE_ENV = "LAGSCALE_POD_RUNNER_ENGINE";

export interface EngineOptions {
  /** The podman command (a name on PATH or a path). */
  command: string;
  /** Its environment (default: the runner's). */
  env?: NodeJS.ProcessEnv;
}

export class PodmanEngine {
  private readonly images = new Map<string, { at: number; config: Promise<ImageConfig | undefined> }>();

  private constructor(
    readonly command: string,
    readonly env: NodeJS.ProcessEnv,
    /** podman's version, for the Node's containerRuntimeVersion. */
    readonly version: string,
    private readonly log: Logger,
  ) {}

  /** The engine, or undefined (with a warning saying why) when `podman version` does not answer. */
  static async detect(opts: EngineOptions, log: Logger): Promise<PodmanEngine | undefined> {
    const env = opts.env ?? process.env;
    try {
      const { stdout } = await execFileAsync(opts.command, ["version", "--format", "{{.Client.Version}}"], {
        env,
        timeout: 30_000,
      });
      return new PodmanEngine(opts.command, env, stdout.trim(), log);
    } catch (err) {
      log.warn(
        { engine: opts.command, err: (err as Error).message.split("\n")[0] },
        "container engine not usable: every image runs from the process map",
      );
      return undefined;
    }
  }

  private async podman(args: string[], timeoutMs = 60_000): Promise<string> {
    const { stdout } = await execFileAsync(this.command, args, {
      env: this.env,
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }

  /** The image's config when the engine has it, undefined when not (answers cached for a few seconds). */
  imageConfig(image: string): Promise<ImageConfig | undefined> {
    const cached = this.images.get(image);
    if (cached && Date.now() - cached.at < IMAGE_CACHE_MS) return cached.config;
    // `image inspect` fails for an image the engine does not have: that is `image exists` and the config at once
    const config = this.podman(["image", "inspect", image]).then(
      (out) => parseImageInspect(JSON.parse(out), image),
      () => undefined,
    );
    this.images.set(image, { at: Date.now(), config });
    return config;
  }

  /** Removes every container of this runner (by its label) that an earlier run left; returns how many. */
  async removeLeftovers(runner: string): Promise<number> {
    const ids = (await this.podman(["ps", "-a", "-q", "--filter", `label=${RUNNER_LABEL}=${runner}`]))
      .split("\n")
      .filter(Boolean);
    if (ids.length > 0) await this.podman(["rm", "-f", "--time", "0", ...ids], 120_000);
    return ids.length;
  }

  /** `podman exec <name>`: what an exec probe puts before its command. */
  execPrefix(name: string): string[] {
    return [this.command, "exec", name];
  }

  /**
   * Runs one container attached, its output appended to `logFile`; resolves once podman has created it
   * (its id known) or `podman run` has already ended.
   */
  async run(
    plan: RunPlan,
    files: { name: string; logFile: string; envFile: string; cidFile: string },
  ): Promise<ContainerProcess> {
    const { name, cidFile, envFile } = files;
    // the same name from an earlier start of this container (or a runner killed without cleaning up)
    await this.podman(["rm", "-f", "--time", "0", "--ignore", name]);
    await mkdir(path.dirname(envFile), { recursive: true });
    await rm(cidFile, { force: true });
    await writeFile(envFile, plan.envFileText, { mode: 0o600 });
    const proc = startProcess({
      argv: [this.command, ...plan.args],
      cwd: path.dirname(envFile),
      env: this.env,
      logFile: files.logFile,
      describe: `podman container ${name}: ${JSON.stringify(plan.argv)}`,
    });
    const deadline = Date.now() + CREATE_TIMEOUT_MS;
    while (proc.alive() && Date.now() < deadline && !existsSync(cidFile)) await sleep(50);
    // podman has read the env file once the container exists (or podman gave up): its Secrets go
    await rm(envFile, { force: true });
    const id = existsSync(cidFile) ? readFileSync(cidFile, "utf8").trim() : undefined;

    const exited: Promise<Exit> = proc.exited.then(async (runExit) => {
      const state = await this.inspectState(name);
      await this.podman(["rm", "-f", "--time", "0", "--ignore", name]).catch((err: unknown) =>
        this.log.warn({ container: name, err: (err as Error).message }, "podman rm failed"),
      );
      const end = containerEnd(state, runExit.exitCode);
      return { ...end, finishedAt: runExit.finishedAt };
    });
    const container: ContainerProcess = {
      pid: proc.pid,
      containerID: id ? `podman://${id}` : undefined,
      startedAt: proc.startedAt,
      exited,
      alive: () => proc.alive(),
      stop: (graceMs) => this.stop(name, proc, exited, graceMs),
    };
    return container;
  }

  private async inspectState(name: string): Promise<InspectState | undefined> {
    try {
      const out = await this.podman(["container", "inspect", "--format", "{{json .State}}", name]);
      return JSON.parse(out) as InspectState;
    } catch {
      return undefined;
    }
  }

  /**
   * `podman stop -t <grace>`: the image's stop signal, SIGKILL after the grace period (whole seconds, at
   * least the time asked). Should the `podman run` client still hang on, it is killed and the container
   * removed.
   */
  private async stop(
    name: string,
    proc: ContainerProcess,
    exited: Promise<Exit>,
    graceMs: number,
  ): Promise<Exit> {
    if (!proc.alive()) return exited;
    const seconds = Math.max(0, Math.ceil(graceMs / 1000));
    try {
      await this.podman(["stop", "--ignore", "--time", String(seconds), name], graceMs + 60_000);
    } catch (err) {
      this.log.warn({ container: name, err: (err as Error).message }, "podman stop failed");
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), 15_000)));
    const first = await Promise.race([proc.exited, late]);
    clearTimeout(timer);
    if (first === "late" && proc.pid !== undefined) {
      signalGroup(proc.pid, "SIGKILL");
      await this.podman(["rm", "-f", "--time", "0", "--ignore", name]).catch(() => undefined);
    }
    return exited;
  }
}
