/**
 * Helpers for the demo-app tests: run the producer or consumer as a child process (the way it runs in a
 * pod), read its output line by line, and look at the broker with the admin API.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AssignerProtocol, Kafka, logLevel, type Admin } from "kafkajs";
import { loadStack } from "../support/stack.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export function bootstrapServers(): string[] {
  return loadStack().bootstrapServers;
}

export function testKafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: bootstrapServers(), logLevel: logLevel.NOTHING });
}

export async function connectedAdmin(): Promise<Admin> {
  const admin = testKafka("demo-apps-test-admin").admin();
  await admin.connect();
  return admin;
}

/** End offset per partition. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

export const sum = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** Committed offset per partition (-1 counted as 0). */
export async function committed(admin: Admin, groupId: string, topic: string): Promise<Map<number, number>> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((result?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
}

export interface MemberView {
  memberId: string;
  clientHost: string;
  partitions: number[];
}

export async function describeGroup(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ state: string; protocol: string; members: MemberView[] }> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups[0];
  if (!group) throw new Error(`describeGroups returned nothing for ${groupId}`);
  return {
    state: group.state,
    protocol: group.protocol,
    members: group.members.map((m) => ({
      memberId: m.memberId,
      clientHost: m.clientHost,
      partitions:
        m.memberAssignment.length === 0
          ? []
          : [...(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [])].sort(
              (a, b) => a - b,
            ),
    })),
  };
}

export interface RunningApp {
  child: ChildProcess;
  /** stdout lines so far. */
  lines: string[];
  /** stderr so far, for failure messages. */
  stderr(): string;
  /** Resolves with the first stdout line (from `from` on) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs: number, from?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  /** Sends a signal and resolves with the exit status and how long the exit took. */
  signal(sig: NodeJS.Signals): Promise<{ status: number | string; ms: number }>;
  /** SIGKILL if still running (cleanup). */
  kill(): void;
}

/** Runs demo-apps/<app>/src/main.ts with node + tsx, with the given environment added. */
export function startApp(app: "producer" | "consumer", env: Record<string, string>): RunningApp {
  const entry = path.join(root, "demo-apps", app, "src", "main.ts");
  return startProcess(app, process.execPath, ["--import", "tsx", entry], env);
}

/** Runs a command with the given environment added, collecting its stdout lines. */
export function startProcess(
  app: string,
  command: string,
  args: string[],
  env: Record<string, string>,
): RunningApp {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let partial = "";
  let err = "";
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, sig) => {
      for (const w of waiters) w();
      resolve(code ?? sig ?? "unknown");
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;

  return {
    child,
    lines,
    stderr: () => err,
    waitForLine(pattern, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.slice(from).find((l) => pattern.test(l));
          if (hit !== undefined) return done(() => resolve(hit));
          if (!running()) {
            done(() =>
              reject(
                new Error(`${app} exited before printing ${pattern}; stdout:\n${lines.join("\n")}\n${err}`),
              ),
            );
          }
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `${app} did not print ${pattern} within ${timeoutMs} ms:\n${lines.join("\n")}\n${err}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (fn: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          fn();
        };
        waiters.add(check);
        check();
      });
    },
    exited,
    async signal(sig) {
      const started = Date.now();
      child.kill(sig);
      const status = await exited;
      return { status, ms: Date.now() - started };
    },
    kill() {
      if (running()) child.kill("SIGKILL");
    },
  };
}

/** Starts the producer on a free port and resolves with its base URL once it listens. */
export async function startProducer(env: Record<string, string>): Promise<{ app: RunningApp; url: string }> {
  const app = startApp("producer", { BIND_ADDRESS: "127.0.0.1:0", ...env });
  const line = await app.waitForLine(/http server started on/, 30_000);
  const { port } = JSON.parse(line) as { port: number };
  return { app, url: `http://127.0.0.1:${port}` };
}

/**
 * Builds test/demo-apps/go-member (kafka-go v0.4.25, the Go demo consumer's library) with the machine's Go
 * toolchain and resolves with the binary's path. The first build fetches the module from the Go module proxy;
 * later ones come from Go's caches.
 */
export async function buildGoMember(): Promise<string> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), "lagscale-go-member-")), "go-member");
  await new Promise<void>((resolve, reject) =>
    execFile(
      "go",
      ["build", "-o", out, "."],
      {
        cwd: path.join(root, "test", "demo-apps", "go-member"),
        env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=readonly" },
        timeout: 300_000,
      },
      (err, _stdout, stderr) =>
        err
          ? reject(
              new Error(
                `go build of test/demo-apps/go-member failed (Go 1.21+ is needed): ${err.message}\n${stderr}`,
              ),
            )
          : resolve(),
    ),
  );
  return out;
}
