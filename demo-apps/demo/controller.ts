/**
 * The lagscale controller for the demo, as a child process: `controller/main.ts` (what `npm run controller` runs)
 * with the stack's kubeconfig, watching only the demo's namespace, without leader election and webhooks, on
 * free ports. When the controller is not in this checkout, says so: the demo then runs without autoscaling.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isAlive, sleep, spawnDetached, tail } from "../../test/stack/process.js";
import { repoRoot } from "../../test/stack/paths.js";

export interface ControllerHandle {
  pid: number;
  logFile: string;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Records it as left running, for the next run's stopLeftoverController. */
  keep(): void;
}

export type ControllerStart = { ok: true; handle: ControllerHandle } | { ok: false; reason: string };

export const CONTROLLER_MAIN = path.join(repoRoot, "controller", "main.ts");

/** Where a controller left running by `--keep` is recorded, so that the next run stops it first. */
export const pidFile = (stateDir: string) => path.join(stateDir, "demo-controller.pid");

const isDemoController = (pid: number): boolean => isAlive(pid, "controller/main.ts");

/** Stops the controller an earlier `--keep` run left (if its pid is still that controller). */
export async function stopLeftoverController(stateDir: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(stateDir), "utf8").trim());
  } catch {
    return undefined;
  }
  rmSync(pidFile(stateDir), { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !isDemoController(pid)) return undefined;
  await stopGroup(pid, 30_000);
  return pid;
}

async function stopGroup(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    return;
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    if (!alive(pid)) return;
    await sleep(100);
  }
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // gone meanwhile
  }
}

const alive = (pid: number): boolean => isAlive(pid);

/** Where the controller listens, and whether it takes the sidecars' reports. */
export interface ControllerPorts {
  /** `/metrics` on 127.0.0.1 (the live view reads each pod's reported state there). */
  metricsPort: number;
  /** The report receiver in plain HTTP on 127.0.0.1 (pods on the local stack are host processes); absent: off. */
  reportsPort?: number;
}

export function controllerArgs(kubeconfig: string, namespace: string, ports?: ControllerPorts): string[] {
  // Without a receiver the run is today's polling-only one: the end-offset watch goes too.
  const reports =
    ports?.reportsPort !== undefined
      ? ["--reports=http", `--reports-port=${ports.reportsPort}`]
      : ["--reports=off", "--end-offset-watch-interval=0"];
  return [
    "--kubeconfig",
    kubeconfig,
    "--watch-namespace",
    namespace,
    "--leader-elect=false",
    "--webhooks=off",
    "--bind-address=127.0.0.1",
    `--metrics-port=${ports?.metricsPort ?? 0}`,
    "--health-port=0",
    ...reports,
  ];
}

/** Log lines written to `file` from byte `from` on, parsed (lines that are not JSON are skipped). */
function logLinesSince(file: string, from: number): { msg?: unknown }[] {
  let text = "";
  try {
    text = readFileSync(file).subarray(from).toString("utf8");
  } catch {
    return [];
  }
  return text.split("\n").flatMap((line) => {
    try {
      return [JSON.parse(line) as { msg?: unknown }];
    } catch {
      return [];
    }
  });
}

/**
 * Starts the controller detached (its own process group, so that the terminal's Ctrl-C reaches the demo only and
 * the demo decides the order of the clean-up: the namespace first, while the controller can still remove its
 * finalizer; and so that `--keep` can leave it running). Ready when it logs "evaluating ScaledObjects".
 * test/support/controller.ts starts the same command for tests, but as a child that dies with its parent.
 */
export async function startController(opts: {
  kubeconfig: string;
  namespace: string;
  stateDir: string;
  ports?: ControllerPorts;
  readyTimeoutMs?: number;
}): Promise<ControllerStart> {
  if (!existsSync(CONTROLLER_MAIN)) {
    return { ok: false, reason: `${path.relative(repoRoot, CONTROLLER_MAIN)} is not in this checkout yet` };
  }
  const logDir = path.join(opts.stateDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, "demo-controller.log");
  const from = existsSync(logFile) ? statSync(logFile).size : 0;
  let proc: ReturnType<typeof spawnDetached> | undefined;
  let spawnError: string | undefined;
  try {
    proc = spawnDetached(
      process.execPath,
      ["--import", "tsx", CONTROLLER_MAIN, ...controllerArgs(opts.kubeconfig, opts.namespace, opts.ports)],
      logFile,
      { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: "info" } },
    );
  } catch (err) {
    spawnError = (err as Error).message;
  }
  const pid = proc?.pid;
  /** Why the controller is gone, or undefined while it runs. */
  const exited = (): string | undefined => {
    if (spawnError) return spawnError;
    try {
      const exit = proc?.exited();
      return exit && `exited with ${exit.code ?? exit.signal}`;
    } catch (err) {
      return (err as Error).message;
    }
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let ready = false;
  while (!exited() && pid !== undefined && !ready) {
    ready = logLinesSince(logFile, from).some((l) => l.msg === "evaluating ScaledObjects");
    if (!ready && Date.now() > deadline) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
      return {
        ok: false,
        reason: `the controller did not start evaluating within ${(opts.readyTimeoutMs ?? 60_000) / 1000} s; last lines of ${logFile}:\n${tail(logFile, 12)}`,
      };
    }
    if (!ready) await sleep(200);
  }
  const exit = exited();
  if (exit || pid === undefined) {
    return {
      ok: false,
      reason: `the controller ${exit ?? "did not start"}; last lines of ${logFile}:\n${tail(logFile, 12)}`,
    };
  }
  const p = pid;
  return {
    ok: true,
    handle: {
      pid: p,
      logFile,
      async stop(graceMs = 30_000) {
        await stopGroup(p, graceMs);
        rmSync(pidFile(opts.stateDir), { force: true });
      },
      keep() {
        writeFileSync(pidFile(opts.stateDir), `${p}\n`);
      },
    },
  };
}

/** Whether the controller is still running (it may crash in the middle of the demo). */
export function controllerAlive(handle: ControllerHandle): boolean {
  return alive(handle.pid);
}
