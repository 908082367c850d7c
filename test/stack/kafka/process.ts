/** Small process and port helpers for the local broker, usable from any process that holds a KafkaInfo. */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";

/** A loopback port that was free a moment ago (the kernel picks it; we close it again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the port of a loopback listener"));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** `count` distinct free loopback ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
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

/**
 * Whether `pid` is alive and is the process we started: its command line must contain `marker` (guards against
 * a recycled pid after a reboot or a long pause). Zombies count as gone.
 */
export function processAlive(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone. EPERM: exists but belongs to someone else, so it is not ours.
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(marker);
  } catch {
    // No /proc (not Linux): trust the signal probe.
    return true;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, wait up to `graceMs` for the process to end, then SIGKILL. Resolves once it is gone. */
export async function terminate(pid: number, marker: string, graceMs: number): Promise<void> {
  if (!processAlive(pid, marker)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid, marker)) return;
    await sleep(100);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + 10_000;
  while (Date.now() < killDeadline) {
    if (!processAlive(pid, marker)) return;
    await sleep(100);
  }
  throw new Error(`process ${pid} survived SIGKILL for 10 s`);
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
