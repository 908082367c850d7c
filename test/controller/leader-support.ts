/** Helpers for test/controller/leader-*.test.ts: candidate processes and Lease reads on the local stack. */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import type { StackInfo } from "../stack/types.js";
import { stackKubeConfig } from "../support/kube.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURE = path.join(root, "test/controller/fixtures/elector-proc.ts");

export interface Timings {
  leaseMs: number;
  renewMs: number;
  retryMs: number;
}

export interface ProcEvent {
  event: "identity" | "leader" | "started" | "stopped" | "exit";
  at: number;
  identity?: string;
  leader?: string;
  pid?: number;
}

/** A candidate process (test/controller/fixtures/elector-proc.ts) and what it reported. */
export class Candidate {
  readonly events: ProcEvent[] = [];
  identity = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private listeners: (() => void)[] = [];

  constructor(
    stack: StackInfo,
    namespace: string,
    lease: string,
    readonly name: string,
    t: Timings,
    logDir: string,
  ) {
    this.child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        FIXTURE,
        stack.kubeconfig,
        namespace,
        lease,
        name,
        String(t.leaseMs),
        String(t.renewMs),
        String(t.retryMs),
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child.stderr!.pipe(createWriteStream(path.join(logDir, `${name}.log`)));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      let ev: ProcEvent;
      try {
        ev = JSON.parse(line) as ProcEvent;
      } catch {
        return;
      }
      if (ev.event === "identity" && ev.identity) this.identity = ev.identity;
      this.events.push(ev);
      for (const l of this.listeners.splice(0)) l();
    });
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code, signal) => resolve({ code, signal })),
    );
  }

  /** Whether its last report says it leads. */
  leading(): boolean {
    const last = this.events.filter((e) => e.event === "started" || e.event === "stopped").at(-1);
    return last?.event === "started";
  }

  /** The first event matching, waiting up to timeoutMs for it. */
  async waitFor(pred: (e: ProcEvent) => boolean, what: string, timeoutMs = 60_000): Promise<ProcEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${this.name}: timed out waiting for ${what}; saw ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

export function kube(stack: StackInfo): { kc: KubeConfig; leases: CoordinationV1Api; core: CoreV1Api } {
  const kc = stackKubeConfig(stack);
  return { kc, leases: kc.makeApiClient(CoordinationV1Api), core: kc.makeApiClient(CoreV1Api) };
}

/** The Lease as stored, or undefined when it does not exist. */
export async function readLease(
  api: CoordinationV1Api,
  namespace: string,
  name: string,
): Promise<V1Lease | undefined> {
  try {
    return await api.readNamespacedLease({ name, namespace });
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return undefined;
    throw err;
  }
}
