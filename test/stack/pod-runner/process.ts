/**
 * Container processes: each in its own process group, output appended to its log file. A container run
 * through podman (engine.ts) is the `podman run` process here, with its own stop.
 */
import { spawn } from "node:child_process";
import { appendFileSync, closeSync, mkdirSync, openSync } from "node:fs";
import { constants } from "node:os";
import path from "node:path";

export interface Exit {
  exitCode: number;
  signal?: number;
  reason: "Completed" | "Error" | "StartError" | "OOMKilled";
  message?: string;
  finishedAt: Date;
}

export interface ContainerProcess {
  pid: number | undefined;
  /** The status' containerID: `process://<pid>`, `podman://<id>`. */
  containerID: string | undefined;
  startedAt: Date;
  exited: Promise<Exit>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Stops it (SIGTERM, then SIGKILL after `graceMs`); resolves with how it ended. */
  stop(graceMs: number): Promise<Exit>;
}

export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

/** Sends `signal` to the whole process group led by `pid`; false when nothing is left to signal. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function startProcess(opts: {
  argv: string[];
  cwd: string;
  env: Record<string, string> | NodeJS.ProcessEnv;
  logFile: string;
  /** What the start marker line says is started (default: the argv). */
  describe?: string;
}): ContainerProcess {
  const [bin, ...args] = opts.argv;
  if (!bin) throw new Error("empty command");
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const startedAt = new Date();
  appendFileSync(
    opts.logFile,
    `--- ${startedAt.toISOString()} pod-runner: starting ${opts.describe ?? JSON.stringify(opts.argv)}\n`,
  );
  const fd = openSync(opts.logFile, "a");
  let running = true;
  try {
    const child = spawn(bin, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    const exited = new Promise<Exit>((resolve) => {
      child.once("error", (err) => {
        running = false;
        appendFileSync(opts.logFile, `--- pod-runner: cannot start ${bin}: ${err.message}\n`);
        resolve({
          exitCode: 128,
          reason: "StartError",
          message: `cannot start ${bin}: ${err.message}`,
          finishedAt: new Date(),
        });
      });
      child.once("exit", (code, signal) => {
        running = false;
        // The container is its process group: whatever the main process left behind goes with it.
        if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
        const finishedAt = new Date();
        const signum = signal ? signalNumber(signal) : undefined;
        const exitCode = code ?? 128 + (signum ?? 0);
        appendFileSync(
          opts.logFile,
          `--- ${finishedAt.toISOString()} pod-runner: exited ${signal ? `on ${signal} (${exitCode})` : `with ${exitCode}`}\n`,
        );
        resolve({
          exitCode,
          ...(signum !== undefined ? { signal: signum } : {}),
          reason: exitCode === 0 ? "Completed" : "Error",
          finishedAt,
        });
      });
    });
    const proc: ContainerProcess = {
      pid: child.pid,
      containerID: child.pid !== undefined ? `process://${child.pid}` : undefined,
      startedAt,
      exited,
      alive: () => running,
      stop: (graceMs) => stopProcess(proc, graceMs),
    };
    return proc;
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGTERM to the container's process group, SIGKILL after `graceMs` if it is still there. Resolves with how
 * the main process ended.
 */
export async function stopProcess(p: ContainerProcess, graceMs: number): Promise<Exit> {
  if (p.pid === undefined || !p.alive()) return p.exited;
  signalGroup(p.pid, "SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(
      () => {
        if (p.pid !== undefined) signalGroup(p.pid, "SIGKILL");
        resolve();
      },
      Math.max(0, graceMs),
    );
  });
  await Promise.race([p.exited, killed]);
  clearTimeout(timer);
  return p.exited;
}
