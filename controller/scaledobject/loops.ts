/**
 * The evaluation schedule: one timer per ScaledObject, firing every `pollingInterval`, plus evaluations
 * asked for at once (a spec or annotation change). Timers are aligned to multiples of their interval on the
 * wall clock, so ScaledObjects with the same pollingInterval fall due together; everything due together is
 * handed to `run` as one batch, which reads all their triggers in one round of the lag reader.
 *
 * A key is never evaluated twice at once: a key that falls due while its evaluation runs is evaluated again
 * right after. `remove` and `stop` wait for running evaluations, so a deleted object's finalizer never races
 * an evaluation of it.
 */
import type { Logger } from "../../core/log.js";

export interface DueKey {
  key: string;
  /** When the evaluation should have started (epoch ms): the timer's target, or the time it was asked for. */
  expectedAt: number;
  /** Why: the timer (`poll`) or a request (`change`). */
  cause: "poll" | "change";
}

export interface EvaluationLoopsOptions {
  run: (batch: DueKey[]) => Promise<void>;
  logger?: Logger;
  now?: () => number;
}

interface Loop {
  intervalMs: number;
  /** The time slot the loop waits for. */
  at: number | undefined;
}

/** One timer per distinct due time: every loop due at that time falls due in the same tick. */
interface Slot {
  timer: NodeJS.Timeout;
  keys: Set<string>;
}

/** The next multiple of `intervalMs` strictly after `now`. */
export function nextAlignedTime(now: number, intervalMs: number): number {
  return (Math.floor(now / intervalMs) + 1) * intervalMs;
}

export class EvaluationLoops {
  private readonly loops = new Map<string, Loop>();
  private readonly slots = new Map<number, Slot>();
  private readonly due = new Map<string, DueKey>();
  private readonly running = new Map<string, Promise<void>>();
  private flushScheduled = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: EvaluationLoopsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Keys with a loop. */
  keys(): string[] {
    return [...this.loops.keys()];
  }

  has(key: string): boolean {
    return this.loops.has(key);
  }

  /** Starts the key's loop, or re-arms it when its interval changed. Returns true when the loop is new. */
  set(key: string, intervalMs: number): boolean {
    if (this.stopped) return false;
    const interval = Math.max(1, Math.round(intervalMs));
    const existing = this.loops.get(key);
    if (existing && existing.intervalMs === interval) return false;
    if (existing) this.unslot(key, existing);
    const loop: Loop = { intervalMs: interval, at: undefined };
    this.loops.set(key, loop);
    this.arm(key, loop);
    return existing === undefined;
  }

  /** Evaluates the key as soon as possible (with whatever else is due now). */
  trigger(key: string): void {
    if (this.stopped) return;
    if (!this.due.has(key)) this.due.set(key, { key, expectedAt: this.now(), cause: "change" });
    this.scheduleFlush();
  }

  /** Stops the key's loop and waits for its running evaluation. */
  async remove(key: string): Promise<void> {
    const loop = this.loops.get(key);
    if (loop) this.unslot(key, loop);
    this.loops.delete(key);
    this.due.delete(key);
    await this.running.get(key);
  }

  /** Stops every loop and waits for the running evaluations. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    this.slots.clear();
    this.loops.clear();
    this.due.clear();
    await Promise.all([...this.running.values()]);
  }

  /** Waits for the next multiple of the interval after now (and after `floor`: a timer may fire a little early). */
  private arm(key: string, loop: Loop, floor = 0): void {
    const now = this.now();
    const at = nextAlignedTime(Math.max(now, floor), loop.intervalMs);
    loop.at = at;
    let slot = this.slots.get(at);
    if (!slot) {
      const keys = new Set<string>();
      slot = { keys, timer: setTimeout(() => this.fire(at), Math.max(0, at - now)) };
      this.slots.set(at, slot);
    }
    slot.keys.add(key);
  }

  private unslot(key: string, loop: Loop): void {
    const at = loop.at;
    if (at === undefined) return;
    loop.at = undefined;
    const slot = this.slots.get(at);
    if (!slot) return;
    slot.keys.delete(key);
    if (slot.keys.size === 0) {
      clearTimeout(slot.timer);
      this.slots.delete(at);
    }
  }

  private fire(at: number): void {
    const slot = this.slots.get(at);
    this.slots.delete(at);
    if (!slot || this.stopped) return;
    for (const key of slot.keys) {
      const loop = this.loops.get(key);
      if (!loop || loop.at !== at) continue;
      loop.at = undefined;
      const pending = this.due.get(key);
      if (!pending || pending.expectedAt > at) this.due.set(key, { key, expectedAt: at, cause: "poll" });
      this.arm(key, loop, at);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.stopped) return;
    const batch: DueKey[] = [];
    for (const [key, d] of this.due) {
      if (this.running.has(key)) continue; // evaluated again once the running evaluation ends
      batch.push(d);
      this.due.delete(key);
    }
    if (batch.length === 0) return;
    const run = this.options.run(batch).catch((err: unknown) => {
      this.options.logger?.error({ err, keys: batch.map((d) => d.key) }, "evaluation batch failed");
    });
    for (const d of batch) {
      const p = run.finally(() => {
        if (this.running.get(d.key) === p) this.running.delete(d.key);
        if (this.due.has(d.key)) this.scheduleFlush();
      });
      this.running.set(d.key, p);
    }
  }
}
