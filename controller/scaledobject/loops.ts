/**
 * The evaluation schedule: one timer per ScaledObject, firing every `pollingInterval`, plus evaluations
 * asked for at once (a spec or annotation change). Each key's due times are the multiples of its interval on
 * the wall clock plus a stable phase: the interval is cut into up to MAX_PHASES sub-slots of at least
 * MIN_PHASE_MS, and a hash of the key picks one (`pollPhaseMs`). So ScaledObjects with the same
 * pollingInterval fall due in a few smaller batches spread over the interval instead of one batch of all of
 * them, which would take most of the interval to prepare and finish at 10,000 objects; everything due
 * together is still handed to `run` as one batch, which reads all its triggers in one round of the lag
 * reader (a few rounds per interval instead of one). KEDA starts each ScaledObject's loop when it reconciles
 * it, so the phase of an object within its interval is arbitrary there too; here it is the same across
 * restarts and failovers.
 *
 * A key is never evaluated twice at once: a key that falls due while its evaluation runs is evaluated again
 * right after. `run` may answer with one promise per key: each key is then free again when its own evaluation
 * ends, so an object whose broker never answers holds back no other object of its batch. `remove` and `stop`
 * wait for running evaluations, so a deleted object's finalizer never races an evaluation of it.
 *
 * Intervals come from users (pollingInterval is any int32 of seconds in KEDA). Node runs a timer of more than
 * 2^31-1 ms (24.8 days) after 1 ms, so no timer here waits longer than MAX_TIMER_STEP_MS: a longer wait is
 * taken in steps, each re-reading the wall clock, and fires at its aligned time. Intervals are held within
 * [MIN_INTERVAL_MS, MAX_INTERVAL_MS] by `pollingIntervalMs`, and `set` refuses anything not finite and
 * positive, so nothing can make a loop fire back to back.
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
  /** One promise for the whole batch, or one per key (a key missing from the map is done at once). */
  run: (batch: DueKey[]) => Promise<void> | ReadonlyMap<string, Promise<void>>;
  logger?: Logger;
  /** Sub-slots of an interval (`pollPhaseMs`); default MAX_PHASES of at least MIN_PHASE_MS. */
  phases?: PhaseOptions;
  now?: () => number;
}

interface Loop {
  intervalMs: number;
  /** Where in the interval the key falls due (`pollPhaseMs`). */
  phaseMs: number;
  /** The time slot the loop waits for. */
  at: number | undefined;
}

/** One timer per distinct due time: every loop due at that time falls due in the same tick. */
interface Slot {
  timer: NodeJS.Timeout;
  keys: Set<string>;
}

/**
 * The longest single timer (1 hour): far below Node's 2^31-1 ms limit, and short enough that a long wait
 * follows a step of the wall clock (NTP, a suspended node) within the hour.
 */
export const MAX_TIMER_STEP_MS = 60 * 60 * 1000;
/** The shortest evaluation interval the controller asks for: pollingInterval's unit is a second. */
export const MIN_INTERVAL_MS = 1000;
/** The longest: KEDA's pollingInterval is an int32 of seconds (about 68 years). */
export const MAX_INTERVAL_MS = 2_147_483_647 * 1000;
/** pollingInterval's default (KEDA's). */
export const DEFAULT_INTERVAL_MS = 30_000;

/**
 * The evaluation interval of a ScaledObject's `pollingInterval` (seconds) as read from the informer, which
 * the webhook may not have checked: within [MIN_INTERVAL_MS, MAX_INTERVAL_MS]; anything that is not a
 * finite number gets the default (validation reports the object's problem in its status).
 */
export function pollingIntervalMs(pollingInterval: unknown): number {
  if (typeof pollingInterval !== "number" || !Number.isFinite(pollingInterval)) return DEFAULT_INTERVAL_MS;
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.round(pollingInterval * 1000)));
}

/** How long the timer for `at` waits from `now`: never negative, never above MAX_TIMER_STEP_MS. */
export function timerDelay(at: number, now: number): number {
  return Math.min(MAX_TIMER_STEP_MS, Math.max(0, at - now));
}

/** The next time strictly after `now` that is a multiple of `intervalMs` plus `phaseMs`. */
export function nextAlignedTime(now: number, intervalMs: number, phaseMs = 0): number {
  return (Math.floor((now - phaseMs) / intervalMs) + 1) * intervalMs + phaseMs;
}

export interface PhaseOptions {
  /** How many sub-slots an interval is cut into at most. */
  max: number;
  /** The shortest sub-slot: a short interval is cut into fewer (1 s and less: none). */
  minMs: number;
}

/**
 * Sub-slots per interval: 10 s and more is cut into 10, so a steady poll of N objects is 10 batches of about
 * N/10 (10 lag-reader rounds per interval instead of one).
 */
export const MAX_PHASES = 10;
/** The shortest sub-slot: pollingInterval's unit, so an interval of 1 s stays one batch. */
export const MIN_PHASE_MS = 1000;
const DEFAULT_PHASES: PhaseOptions = { max: MAX_PHASES, minMs: MIN_PHASE_MS };

/** FNV-1a (32 bits) of the key's UTF-16 units: stable across processes, cheap, well spread. */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Where in its interval the key falls due (ms after each multiple of the interval): the start of one of
 * `phaseCount` sub-slots, picked by a hash of the key, so the same key always gets the same phase.
 */
export function pollPhaseMs(key: string, intervalMs: number, phases: PhaseOptions = DEFAULT_PHASES): number {
  const count = Math.max(1, Math.min(phases.max, Math.floor(intervalMs / phases.minMs)));
  return (keyHash(key) % count) * Math.floor(intervalMs / count);
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

  /**
   * Starts the key's loop, or re-arms it when its interval changed. Returns true when the loop is new.
   * Throws a RangeError for an interval that is not finite and positive (see `pollingIntervalMs`).
   */
  set(key: string, intervalMs: number): boolean {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new RangeError(
        `evaluation interval of ${key} must be a positive number of ms, got ${intervalMs}`,
      );
    }
    if (this.stopped) return false;
    const interval = Math.max(1, Math.round(intervalMs));
    const existing = this.loops.get(key);
    if (existing && existing.intervalMs === interval) return false;
    if (existing) this.unslot(key, existing);
    const loop: Loop = {
      intervalMs: interval,
      phaseMs: pollPhaseMs(key, interval, this.options.phases),
      at: undefined,
    };
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

  /** Waits for the key's next due time after now (and after `floor`: a timer may fire a little early). */
  private arm(key: string, loop: Loop, floor = 0): void {
    const now = this.now();
    this.addToSlot(key, nextAlignedTime(Math.max(now, floor), loop.intervalMs, loop.phaseMs), now);
  }

  private addToSlot(key: string, at: number, now: number): void {
    const loop = this.loops.get(key);
    if (loop) loop.at = at;
    let slot = this.slots.get(at);
    if (!slot) {
      slot = { keys: new Set<string>(), timer: this.timer(at, now) };
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

  private timer(at: number, now: number): NodeJS.Timeout {
    return setTimeout(() => this.fire(at), timerDelay(at, now));
  }

  private fire(at: number): void {
    const slot = this.slots.get(at);
    if (!slot || this.stopped) return;
    const now = this.now();
    if (now < at) {
      // One step of a long wait (or a timer a little early): wait for the rest. A key whose slot is now
      // more than one interval away saw the wall clock step back: it waits for its next slot from now.
      this.slots.delete(at);
      for (const key of slot.keys) {
        const loop = this.loops.get(key);
        if (!loop || loop.at !== at) continue;
        if (at - now > loop.intervalMs) {
          loop.at = undefined;
          this.arm(key, loop);
        } else this.addToSlot(key, at, now);
      }
      clearTimeout(slot.timer);
      return;
    }
    this.slots.delete(at);
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
    const runs = this.options.run(batch);
    const logged = (keys: string[], work: Promise<void>) =>
      work.catch((err: unknown) => this.options.logger?.error({ err, keys }, "evaluation batch failed"));
    const whole =
      runs instanceof Promise
        ? logged(
            batch.map((d) => d.key),
            runs,
          )
        : undefined;
    for (const d of batch) {
      const own =
        whole ??
        logged([d.key], (runs as ReadonlyMap<string, Promise<void>>).get(d.key) ?? Promise.resolve());
      const p = own.finally(() => {
        if (this.running.get(d.key) === p) this.running.delete(d.key);
        if (this.due.has(d.key)) this.scheduleFlush();
      });
      this.running.set(d.key, p);
    }
  }
}
