/**
 * What bounds the controller's start-up in the controller bench: the CPU seconds each process of the stack
 * (the controller, kube-apiserver, etcd, kube-controller-manager) spent between two moments, read from
 * /proc/<pid>/stat, and the controller's start-up writes to the API server (finalizers, first status
 * writes, Events) as the counting proxy saw them: how many, and when the last of each kind was sent.
 *
 * A process whose CPU seconds come close to the wall-clock seconds was busy the whole time (on a 2-core
 * machine, two such processes fill it); one far below waited on someone else.
 */
import { readFileSync } from "node:fs";
import type { StackInfo } from "../stack/types.js";
import type { SeenRequest } from "../support/counting-proxy.js";
import type { ReactionBenchIO } from "./reaction.js";
import { sleep } from "./reaction.js";

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) a process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command may hold spaces and parentheses: fields are counted after its closing one
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

export type CpuSample = Record<string, number | undefined>;

export interface CpuSampler {
  sample(): CpuSample;
}

export function cpuSampler(pids: Record<string, number>): CpuSampler {
  return {
    sample: () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)])),
  };
}

/** The local control plane's processes (none for an external cluster). */
export function stackPids(stack: StackInfo): Record<string, number> {
  const pids = (stack.kube.handle as { pids?: Record<string, unknown> }).pids ?? {};
  const out: Record<string, number> = {};
  for (const name of ["apiserver", "etcd", "controllerManager"]) {
    const pid = pids[name];
    if (typeof pid === "number") out[name] = pid;
  }
  return out;
}

const WRITES = new Set(["create", "patch", "update", "delete"]);

/** The kind of a controller write: finalizer, status, event, scale, or the verb and resource. */
export function writeKind(r: SeenRequest): string {
  if (r.path.endsWith("/status")) return "status";
  if (r.path.endsWith("/scale")) return "scale";
  if (r.path.includes("/events")) return "event";
  if (r.verb === "patch" && r.path.includes("/scaledobjects/")) return "finalizer";
  return `${r.verb} ${r.path.split("/").at(-2) ?? ""}`;
}

/** Resolves with the time of the last write once `quietMs` passed without one (or `maxMs` in all). */
export async function writesQuiet(
  seen: readonly SeenRequest[],
  quietMs: number,
  maxMs: number,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    let last = 0;
    for (let i = seen.length - 1; i >= 0; i--) {
      const r = seen[i];
      if (r && WRITES.has(r.verb)) {
        last = r.at;
        break;
      }
    }
    if (Date.now() - last >= quietMs || Date.now() - started > maxMs) return last || started;
    await sleep(1000);
  }
}

/** Prints the start-up's writes by kind (count, last one after the first creation) and the CPU it took. */
export function startupReport(
  io: ReactionBenchIO,
  /** The figures' prefix, such as `controller-1000`. */
  id: string,
  seen: readonly SeenRequest[],
  from: number,
  cpuBefore: CpuSample,
  cpuAfter: CpuSample,
  wallSeconds: number,
): void {
  const kinds = new Map<string, { count: number; last: number }>();
  for (const r of seen) {
    if (r.at < from || !WRITES.has(r.verb)) continue;
    const k = writeKind(r);
    const e = kinds.get(k) ?? { count: 0, last: 0 };
    e.count++;
    e.last = Math.max(e.last, r.at);
    kinds.set(k, e);
  }
  for (const [k, e] of [...kinds].sort((a, b) => b[1].count - a[1].count)) {
    io.note(`  start-up writes: ${e.count} × ${k}, the last ${((e.last - from) / 1000).toFixed(1)} s in`);
  }
  for (const [name, after] of Object.entries(cpuAfter)) {
    const before = cpuBefore[name];
    if (after === undefined || before === undefined) continue;
    const used = after - before;
    io.figure(`${id}-startup-cpu-${name}`, used.toFixed(1), "s");
    io.note(
      `  ${name}: ${((100 * used) / wallSeconds).toFixed(0)} % of one core over ${wallSeconds.toFixed(0)} s`,
    );
  }
}
