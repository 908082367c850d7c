/**
 * A keyed, level-based work queue with the guarantees of client-go's workqueue and controller-runtime's
 * controller:
 *
 * - a key is queued at most once, however often it is added before a worker takes it;
 * - one key is never processed by two workers at once; an add while it is processed waits and runs once
 *   the current run finishes;
 * - a reconcile that throws is retried with per-key exponential back-off (5 ms doubling up to 1000 s, as
 *   client-go's default), unless it threw a TerminalError; a success resets the key's back-off;
 * - a reconcile may ask to run again after a delay (`{ requeueAfter: ms }`); the earliest pending delay
 *   for a key wins.
 *
 * The reconciler receives the key only, never the event: it reads the current state from the informer cache.
 */
import type { Logger } from "../../core/log.js";

/** What a reconcile returns: nothing (done until the next change) or "look again after this delay". */
export type ReconcileResult = { requeueAfter: number } | undefined;

export type Reconciler = (key: string) => Promise<ReconcileResult>;

/** A failure that retrying cannot fix (e.g. an invalid spec): logged, not requeued. */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
}

export interface WorkQueueOptions {
  /** Name for logs. */
  name: string;
  /** Workers running reconciles of different keys at once. Default 1. */
  concurrency?: number;
  /** Retry back-off after an error: first delay and cap. Default 5 ms and 1000 s. */
  backoff?: { baseMs: number; maxMs: number };
  logger?: Logger;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys waiting to be processed (in `queue`, or to be queued when their current run ends). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly concurrency: number;
  private readonly backoff: { baseMs: number; maxMs: number };
  private reconciler: Reconciler | undefined;
  private running = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.backoff = options.backoff ?? { baseMs: 5, maxMs: 1_000_000 };
  }

  /** Queue a key now (a no-op if it is already queued). */
  add(key: string): void {
    if (this.stopping) return;
    const pending = this.delayed.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.delayed.delete(key);
    }
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) {
      this.queue.push(key);
      this.pump();
    }
  }

  /** Queue a key after `ms`, unless it is already due earlier. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Queue a key after its back-off delay, and lengthen the back-off. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** n));
  }

  /** Reset a key's back-off. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failed attempts since the key's last success. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys waiting to run (not counting delayed ones or those running now). */
  get length(): number {
    return this.queue.length;
  }

  /** Start processing with `reconciler` on up to `concurrency` keys at once. */
  start(reconciler: Reconciler): void {
    if (this.reconciler) throw new Error(`work queue ${this.options.name} already started`);
    this.reconciler = reconciler;
    this.pump();
  }

  /**
   * Stop taking keys, drop delayed ones, and wait for the running reconciles to finish.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const reconcile = this.reconciler;
    if (!reconcile) return;
    while (!this.stopping && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.dirty.delete(key);
      this.processing.add(key);
      this.running++;
      void this.process(key, reconcile);
    }
  }

  private async process(key: string, reconcile: Reconciler): Promise<void> {
    try {
      const result = await reconcile(key);
      this.forget(key);
      if (result && result.requeueAfter >= 0) this.addAfter(key, result.requeueAfter);
    } catch (err) {
      if (err instanceof TerminalError) {
        this.forget(key);
        this.options.logger?.error({ queue: this.options.name, key, err }, "reconcile failed (not retried)");
      } else {
        this.addRateLimited(key);
        this.options.logger?.warn(
          { queue: this.options.name, key, err, retries: this.retries(key) },
          "reconcile failed; retrying",
        );
      }
    } finally {
      this.processing.delete(key);
      this.running--;
      if (this.dirty.has(key) && !this.stopping) this.queue.push(key);
      if (this.running === 0 && this.stopping) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
      this.pump();
    }
  }
}
