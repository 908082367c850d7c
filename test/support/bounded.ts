/**
 * "Does not explode" checks for the hostile-input suites (`*.hostile.test.ts`): a call answers without
 * throwing, within a wall-clock budget and a heap-growth cap. These are not speed assertions: the
 * budgets are about 100 times what the calls take, so only a runaway (an expanded range, a five-year
 * scan, a recursion thousands deep) trips them.
 */
import assert from "node:assert/strict";

/** Per call. Parses take well under 20 ms on a busy 2-core machine. */
export const CALL_BUDGET_MS = 2_000;
/** Heap growth per call; a call that allocates per partition id or per range value goes far beyond. */
export const HEAP_GROWTH_CAP_BYTES = 64 * 1024 * 1024;

/** A short description of the input, for a failure message only (a deep input cannot be stringified). */
function describe(input: unknown): string {
  let s: string;
  try {
    s = typeof input === "string" ? input : (JSON.stringify(input) ?? String(input));
  } catch {
    s = `(a ${typeof input} that cannot be shown)`;
  }
  return s.length > 120 ? `${s.slice(0, 120)}... (${s.length} chars)` : s;
}

function check(label: string, input: unknown, ms: number, heapBefore: number, budgetMs: number): void {
  const grew = process.memoryUsage().heapUsed - heapBefore;
  if (ms >= budgetMs) {
    assert.fail(`${label} took ${ms.toFixed(0)} ms (budget ${budgetMs} ms) on ${describe(input)}`);
  }
  if (grew >= HEAP_GROWTH_CAP_BYTES) {
    assert.fail(`${label} grew the heap by ${(grew / 2 ** 20).toFixed(0)} MiB on ${describe(input)}`);
  }
}

/** Runs `f(input)`, failing the test if it throws, overruns the budget or grows the heap past the cap. */
export function bounded<I, T>(label: string, f: (input: I) => T, input: I, budgetMs = CALL_BUDGET_MS): T {
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let out: T;
  try {
    out = f(input);
  } catch (err) {
    assert.fail(`${label} threw ${err instanceof Error ? err.message : String(err)} on ${describe(input)}`);
  }
  check(label, input, performance.now() - started, heapBefore, budgetMs);
  return out;
}

/** `bounded` for a call that answers a promise. */
export async function boundedAsync<I, T>(
  label: string,
  f: (input: I) => Promise<T>,
  input: I,
  budgetMs = CALL_BUDGET_MS,
): Promise<T> {
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let out: T;
  try {
    out = await f(input);
  } catch (err) {
    assert.fail(`${label} threw ${err instanceof Error ? err.message : String(err)} on ${describe(input)}`);
  }
  check(label, input, performance.now() - started, heapBefore, budgetMs);
  return out;
}
