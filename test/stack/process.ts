/**
 * Process and port helpers of the local stack (Kafka, the control plane, the pod runner, the demo): start a
 * detached process, find it again by pid, stop it, free ports, a lock folder, and small waiting and log helpers.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export interface Detached {
  pid: number;
  /** Set once the process has exited while this process still watched it. */
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/**
 * Starts `bin args` detached from this process (its own process group, so a signal to `-pid` reaches what it
 * starts too), stdout and stderr appended to `log` (its folder is created).
 */
export function spawnDetached(
  bin: string,
  args: string[],
  log: string,
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Detached {
  mkdirSync(path.dirname(log), { recursive: true });
  const fd = openSync(log, "a");
  try {
    const child = spawn(bin, args, {
      cwd: options.cwd,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: options.env ?? process.env,
    });
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

/**
 * Whether `pid` is alive and (when `expect` is given) still the program we started: its command line contains
 * `expect`. This guards against stopping an unrelated process that reused a recorded pid. A zombie, or a pid
 * of another user (EPERM), counts as gone. Without /proc (not Linux) only the signal probe is available.
 */
export function isAlive(pid: number, expect?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  let cmd: string;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return process.platform !== "linux";
  }
  return expect === undefined || cmd.includes(expect);
}

/**
 * SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves once the process is gone; a dead pid (or one that is no
 * longer `expect`) is fine. Throws when the process survives SIGKILL for 10 s (stuck in the kernel): it still
 * holds its ports and data folder, and reporting it stopped would only make the next start fail more obscurely.
 */
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
  const killDeadline = Date.now() + 10_000;
  while (Date.now() < killDeadline) {
    if (!isAlive(pid, expect)) return;
    await sleep(50);
  }
  throw new Error(`process ${pid} survived SIGKILL for 10 s`);
}

/** `count` distinct free TCP ports on 127.0.0.1 (all held open at once so they differ, then closed again). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
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

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (inUse: boolean) => {
      socket.destroy();
      resolve(inUse);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/** The last `lines` lines of a log file, for error messages. */
export function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface RunResult {
  code: number;
  output: string;
}

/** Runs a command to completion, collecting stdout+stderr; `onLine` sees each line as it arrives. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let partial = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      output += text;
      if (!options.onLine) return;
      partial += text;
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) options.onLine(line);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") reject(new Error(`\`${command}\` was not found on PATH`));
      else reject(err);
    });
    child.on("close", (code, signal) => {
      if (partial && options.onLine) options.onLine(partial);
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
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
