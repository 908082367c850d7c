/** Detached processes of the local control plane: start them, find them again by pid, stop them. */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createServer } from "node:net";

export interface Detached {
  pid: number;
  /** Set once the process has exited while this process still watched it. */
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** Starts `bin args` detached from this process (its own process group), stdout and stderr appended to `log`. */
export function spawnDetached(bin: string, args: string[], log: string, env?: NodeJS.ProcessEnv): Detached {
  const fd = openSync(log, "a");
  try {
    const child = spawn(bin, args, { detached: true, stdio: ["ignore", fd, fd], env: env ?? process.env });
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    child.on("exit", (code, signal) => (exit = { code, signal }));
    child.on("error", (err) => {
      spawnError = err;
      exit = { code: -1, signal: null };
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${bin}`);
    return {
      pid: child.pid,
      exited: () => {
        if (spawnError) throw new Error(`could not start ${bin}: ${spawnError.message}`);
        return exit;
      },
    };
  } finally {
    closeSync(fd);
  }
}

/** The command line of a live process, or undefined when there is none (or it is a zombie). */
function cmdline(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/^\d+ \(.*\) Z/s.test(stat)) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is alive and (when `expect` is given) still the program we started: its command line contains
 * `expect`. This guards against stopping an unrelated process that reused a recorded pid.
 */
export function isAlive(pid: number, expect?: string): boolean {
  const cmd = cmdline(pid);
  if (cmd !== undefined) return expect === undefined || cmd.includes(expect);
  if (process.platform === "linux") return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves once the process is gone; a dead pid is fine. */
export async function stopProcess(pid: number, expect: string | undefined, graceMs = 10_000): Promise<void> {
  if (!isAlive(pid, expect)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid, expect)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5_000;
  while (isAlive(pid, expect) && Date.now() < killDeadline) await sleep(50);
}

/** `count` distinct free TCP ports on 127.0.0.1 (all held open at once so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<import("node:net").Server>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === "string") throw new Error("unexpected server address");
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** A lock folder holding the owner's pid; a lock left by a dead process is taken over. */
export async function acquireLock(
  lockDir: string,
  progress: (line: string) => void,
  waitingFor: string,
  timeoutMs = 45 * 60_000,
): Promise<() => void> {
  const since = Date.now();
  const deadline = since + timeoutMs;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, "pid"), String(process.pid));
      return () => {
        try {
          if (readFileSync(path.join(lockDir, "pid"), "utf8") === String(process.pid)) {
            rmSync(lockDir, { recursive: true, force: true });
          }
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(path.join(lockDir, "pid"), "utf8"));
    } catch {
      // being created right now, or left without a pid file
    }
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    // A lock folder without a pid for 5 s was left by a process that died between mkdir and writing it.
    if (Number.isNaN(owner) && Date.now() - since > 5_000) {
      rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!told) {
      progress(`waiting: ${waitingFor} (lock ${lockDir}, pid ${owner})`);
      told = true;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${lockDir} (held by pid ${owner})`);
    await sleep(500);
  }
}
