/**
 * The batched reader's memory as a process of its own: the compiled reader (compiled.ts) runs in a child
 * Node process whose only work is reading the bench's triggers for a few rounds. The child reports its RSS
 * and heap once its modules are loaded (before any read) and after the rounds, each after a full garbage
 * collection. A delta inside the bench's own process mixed in the naive reader's and the setup's garbage
 * (and could come out negative).
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import type { LagRequest } from "../../core/kafka/types.js";
import { compileController } from "./compiled.js";

const run = promisify(execFile);

export interface ReaderProcessMemory {
  /** RSS and heap of the child with the reader's modules loaded, before its first read. */
  idleRssMiB: number;
  idleHeapMiB: number;
  /** After `rounds` rounds of every trigger. */
  rssMiB: number;
  heapMiB: number;
  requestsPerRound: number;
}

// The child is plain JavaScript next to the compiled core/, so that it runs without a TypeScript loader.
const CHILD = `
import { readFileSync } from "node:fs";
import { BatchedLagReader } from "./core/kafka/batched-reader.js";
const MiB = 1024 * 1024;
const measure = () => { globalThis.gc(); globalThis.gc(); const m = process.memoryUsage(); return { rss: m.rss / MiB, heap: m.heapUsed / MiB }; };
const { requests, rounds } = JSON.parse(readFileSync(process.argv[2], "utf8"));
const idle = measure();
const reader = new BatchedLagReader({ logger: (await import("pino")).pino({ level: "silent" }) });
let failed = 0;
for (let i = 0; i <= rounds; i++) failed += (await Promise.all(requests.map((r) => reader.read(r)))).filter((r) => !r.ok).length;
const total = Object.values(reader.stats().requests).reduce((a, b) => a + b, 0);
const end = measure();
await reader.close();
process.stdout.write(JSON.stringify({ idle, end, failed, total }));
`;

export async function measureReaderProcess(
  requests: LagRequest[],
  rounds: number,
): Promise<ReaderProcessMemory> {
  const compiled = await compileController();
  try {
    const out = path.dirname(path.dirname(compiled.main));
    const child = path.join(out, "reader-child.mjs");
    const input = path.join(out, "reader-input.json");
    writeFileSync(child, CHILD);
    writeFileSync(input, JSON.stringify({ requests, rounds }));
    const { stdout } = await run(process.execPath, ["--expose-gc", child, input], {
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const r = JSON.parse(stdout) as {
      idle: { rss: number; heap: number };
      end: { rss: number; heap: number };
      failed: number;
      total: number;
    };
    if (r.failed > 0) throw new Error(`the reader process had ${r.failed} failed reads`);
    return {
      idleRssMiB: r.idle.rss,
      idleHeapMiB: r.idle.heap,
      rssMiB: r.end.rss,
      heapMiB: r.end.heap,
      requestsPerRound: r.total / (rounds + 1),
    };
  } finally {
    compiled.remove();
  }
}
