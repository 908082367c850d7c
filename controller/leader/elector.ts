/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm (tools/leaderelection):
 *
 * - acquire: try every retryPeriod × (1 + random × 1.2) until the lease is ours;
 * - renew: every retryPeriod; a renewal that has not succeeded within renewDeadline (retrying every
 *   retryPeriod) ends leadership. renewDeadline < leaseDuration, so a leader that cannot renew stops before
 *   another replica may take over;
 * - a foreign holder is respected until leaseDuration after we last saw its record change, on our clock;
 * - every write carries the resourceVersion read just before it: losing a race is a 409 and simply "not now";
 * - on a graceful stop the leader releases the lease (empty holder, 1 s), so the next one takes over at once.
 *
 * There is no fencing (as in client-go): work started in onStartedLeading must stop when its signal aborts and
 * must tolerate a brief overlap with the next leader. See docs/leader-election.md.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { V1MicroTime, type CoordinationV1Api } from "@kubernetes/client-node";
import { Counter, Gauge, type Registry } from "prom-client";
import { createLogger, type Logger } from "../../core/log.js";
import {
  decideAttempt,
  initialRecord,
  leaderHealth,
  leaseSeconds,
  nextRecord,
  observe,
  releasedRecord,
  type Observation,
} from "./decide.js";
import { LeaseLock, apiStatus, type LeaderLock, type LockedRecord } from "./lease-lock.js";
import { JITTER_FACTOR, jittered, resolveTimings, type LeaderTimings } from "./options.js";

export interface LeaderCallbacks {
  /**
   * This replica now leads. `signal` aborts when it stops leading; the returned promise (if any) should settle
   * once the work has stopped: a graceful stop waits for it (up to renewDeadline) before releasing the lease.
   */
  onStartedLeading?(signal: AbortSignal): void | Promise<void>;
  /** Called once after leadership ends (lost or released). Not called when this replica never led. */
  onStoppedLeading?(): void | Promise<void>;
  /** A different holder (possibly this replica) was seen in the lease. An emptied (released) lease is not a leader. */
  onNewLeader?(identity: string): void;
}

export interface Clock {
  /** Milliseconds on the local clock. */
  now(): number;
}

/** Resolves after ms, or early (without rejecting) when signal aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const systemClock: Clock = { now: () => Date.now() };

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });

export interface LeaderElectorOptions extends Partial<LeaderTimings> {
  /** The Lease, or any other LeaderLock (unit tests use an in-memory one). */
  lock: LeaderLock | { api: CoordinationV1Api; namespace: string; name: string };
  /** Defaults to defaultIdentity(): the pod name plus a random suffix. */
  identity?: string;
  callbacks?: LeaderCallbacks;
  /** Empty the lease when run()'s signal aborts while leading (client-go ReleaseOnCancel). Default true. */
  releaseOnCancel?: boolean;
  /** Where to register lagscale_leader and lagscale_leader_transitions_total; without one they stay private. */
  registry?: Registry;
  logger?: Logger;
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
}

/** client-go's convention: who we are (POD_NAME, else the host name, which is the pod name in a pod) + "_" + random. */
export function defaultIdentity(podName: string | undefined = process.env.POD_NAME): string {
  const base = podName?.trim() || hostname();
  return `${base}_${randomBytes(6).toString("hex")}`;
}

export interface LeaderMetrics {
  leader: Gauge<"lease">;
  transitions: Counter<"lease" | "event">;
}

function createMetrics(registry: Registry | undefined): LeaderMetrics {
  const registers = registry ? [registry] : [];
  return {
    leader: new Gauge({
      name: "lagscale_leader",
      help: "1 while this replica holds the leader lease, else 0",
      labelNames: ["lease"] as const,
      registers,
    }),
    transitions: new Counter({
      name: "lagscale_leader_transitions_total",
      help: "Times this replica started or stopped leading (event=started|stopped)",
      labelNames: ["lease", "event"] as const,
      registers,
    }),
  };
}

export class LeaderElector {
  readonly identity: string;
  readonly timings: LeaderTimings;
  readonly metrics: LeaderMetrics;
  private readonly lock: LeaderLock;
  private readonly callbacks: LeaderCallbacks;
  private readonly releaseOnCancel: boolean;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly leaseName: string;

  private observation: Observation | undefined;
  /** The resourceVersion of the last record read or written, for the next write (and the release). */
  private resourceVersion: string | undefined;
  private lastRenewAtMs: number | undefined;
  private leading = false;
  private reportedLeader = "";
  private running = false;
  /** Bumped when an attempt is abandoned at the renew deadline, so a late answer changes nothing. */
  private epoch = 0;

  constructor(options: LeaderElectorOptions) {
    this.timings = resolveTimings(options);
    this.lock =
      "get" in options.lock
        ? options.lock
        : new LeaseLock(options.lock.api, options.lock.namespace, options.lock.name);
    this.identity = options.identity ?? defaultIdentity();
    if (!this.identity) throw new Error("leader election: identity must not be empty");
    this.callbacks = options.callbacks ?? {};
    this.releaseOnCancel = options.releaseOnCancel ?? true;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.leaseName = this.lock.describe();
    this.log = (options.logger ?? createLogger("leader")).child({
      lease: this.leaseName,
      identity: this.identity,
    });
    this.metrics = createMetrics(options.registry);
    this.metrics.leader.set({ lease: this.leaseName }, 0);
    this.metrics.transitions.inc({ lease: this.leaseName, event: "started" }, 0);
    this.metrics.transitions.inc({ lease: this.leaseName, event: "stopped" }, 0);
  }

  /** Whether this replica leads right now (between onStartedLeading and the end of leadership). */
  isLeader(): boolean {
    return this.leading && this.observation?.record.holderIdentity === this.identity;
  }

  /** The holder last seen in the lease ("" when none). */
  getLeader(): string {
    return this.observation?.record.holderIdentity ?? "";
  }

  /**
   * For /healthz (client-go `Check`): an error message when this replica leads but has not renewed for
   * leaseDuration + maxTolerableExpiredLeaseMs, else undefined.
   */
  check(maxTolerableExpiredLeaseMs: number): string | undefined {
    return leaderHealth({
      leading: this.isLeader(),
      lastRenewAtMs: this.lastRenewAtMs,
      leaseDurationMs: this.timings.leaseDurationMs,
      maxTolerableExpiredMs: maxTolerableExpiredLeaseMs,
      nowMs: this.clock.now(),
      lease: this.leaseName,
    });
  }

  /**
   * Campaigns until this replica leads, leads until it cannot renew or `signal` aborts, then returns. Like
   * client-go's Run it does not campaign again: the caller exits (the usual choice) or calls run() again.
   */
  async run(signal?: AbortSignal): Promise<void> {
    if (this.running) throw new Error("leader election: run() is already running");
    this.running = true;
    try {
      if (!(await this.acquire(signal))) return;
      await this.lead(signal);
    } finally {
      this.running = false;
    }
  }

  /**
   * One round of client-go's tryAcquireOrRenew: true when the lease is ours after it. Never throws: API
   * errors, a lost race (409) and a lease held by someone else are all "false".
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const epoch = this.epoch;
    const current = (): boolean => epoch === this.epoch;
    const nowIso = new V1MicroTime(this.clock.now()).toISOString();
    const seconds = leaseSeconds(this.timings.leaseDurationMs);
    let read: LockedRecord | undefined;
    try {
      read = await this.lock.get();
    } catch (err) {
      this.log.warn({ err: describe(err) }, "cannot read the lease");
      return false;
    }
    if (!current()) return false;

    if (!read) {
      const record = initialRecord(this.identity, seconds, nowIso);
      try {
        const written = await this.lock.create(record);
        if (!current()) return false;
        this.wrote(written);
        return true;
      } catch (err) {
        if (apiStatus(err) === 409) this.log.debug("another replica created the lease first");
        else this.log.warn({ err: describe(err) }, "cannot create the lease");
        return false;
      }
    }

    const nowMs = this.clock.now();
    this.observation = observe(this.observation, read.record, nowMs);
    this.resourceVersion = read.resourceVersion;
    const attempt = decideAttempt(this.observation, this.identity, nowMs, this.timings.leaseDurationMs);
    if (attempt.kind === "respect") {
      this.log.trace({ holder: attempt.holder, expiresInMs: attempt.expiresAtMs - nowMs }, "lease is held");
      return false;
    }
    const record = nextRecord(attempt, read.record, this.identity, seconds, nowIso);
    try {
      const written = await this.lock.update(record, read.resourceVersion);
      if (!current()) return false;
      this.wrote(written);
      if (attempt.kind === "takeover") {
        this.log.info(
          { previous: read.record.holderIdentity || undefined, leaseTransitions: record.leaseTransitions },
          "took over the lease",
        );
      }
      return true;
    } catch (err) {
      if (apiStatus(err) === 409) this.log.debug("lost a race to update the lease (409)");
      else this.log.warn({ err: describe(err) }, "cannot update the lease");
      return false;
    }
  }

  private wrote(written: LockedRecord): void {
    const nowMs = this.clock.now();
    // Our own write is a change we observed now (client-go setObservedRecord).
    this.observation = observe(undefined, written.record, nowMs);
    this.resourceVersion = written.resourceVersion;
    this.lastRenewAtMs = nowMs;
  }

  private async acquire(signal: AbortSignal | undefined): Promise<boolean> {
    this.log.info(this.timings, "campaigning for the lease");
    while (!signal?.aborted) {
      const ok = await this.tryAcquireOrRenew();
      this.reportLeader();
      if (ok) return !signal?.aborted || (await this.releaseAfterAbort());
      await this.sleep(jittered(this.timings.retryPeriodMs, JITTER_FACTOR, this.random), signal);
    }
    return false;
  }

  /** Acquired just as we were asked to stop: give it back without ever starting to lead. */
  private async releaseAfterAbort(): Promise<false> {
    if (this.releaseOnCancel) await this.release();
    return false;
  }

  private async lead(signal: AbortSignal | undefined): Promise<void> {
    this.leading = true;
    this.metrics.leader.set({ lease: this.leaseName }, 1);
    this.metrics.transitions.inc({ lease: this.leaseName, event: "started" });
    this.log.info("started leading");
    const work = new AbortController();
    const running = this.callStarted(work.signal);

    let lost = false;
    while (!signal?.aborted) {
      await this.sleep(this.timings.retryPeriodMs, signal);
      if (signal?.aborted) break;
      if (!(await this.renew(signal))) {
        lost = !signal?.aborted;
        break;
      }
    }

    this.leading = false;
    this.metrics.leader.set({ lease: this.leaseName }, 0);
    this.metrics.transitions.inc({ lease: this.leaseName, event: "stopped" });
    work.abort();
    if (lost) {
      this.log.warn(
        { renewDeadlineMs: this.timings.renewDeadlineMs },
        "could not renew the lease: stopped leading",
      );
    } else {
      await this.boundedWait(running, this.timings.renewDeadlineMs);
      if (this.releaseOnCancel) await this.release();
      this.log.info("stopped leading");
    }
    try {
      await this.callbacks.onStoppedLeading?.();
    } catch (err) {
      this.log.error({ err: describe(err) }, "onStoppedLeading failed");
    }
  }

  /** Retries every retryPeriod until a renewal succeeds or renewDeadline has passed since the first try. */
  private async renew(signal: AbortSignal | undefined): Promise<boolean> {
    const deadline = this.clock.now() + this.timings.renewDeadlineMs;
    for (;;) {
      const left = deadline - this.clock.now();
      const ok = left > 0 && (await this.withDeadline(this.tryAcquireOrRenew(), left));
      this.reportLeader();
      if (ok) return true;
      if (signal?.aborted) return false;
      // Someone else holds a valid lease: we were replaced (for instance after a long pause); no point retrying.
      if (this.observation && this.observation.record.holderIdentity !== this.identity) {
        const holder = this.observation.record.holderIdentity;
        if (holder !== "") {
          this.log.warn({ holder }, "the lease names another holder");
          return false;
        }
      }
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) return false;
      await this.sleep(Math.min(this.timings.retryPeriodMs, remaining), signal);
    }
  }

  /** The attempt's answer, or false when it has not come by the deadline (then it is disowned). */
  private async withDeadline(attempt: Promise<boolean>, ms: number): Promise<boolean> {
    const timer = new AbortController();
    const timedOut = this.sleep(ms, timer.signal).then(() => "timeout" as const);
    let result: boolean | "timeout";
    try {
      result = await Promise.race([attempt, timedOut]);
    } finally {
      timer.abort();
    }
    if (result === "timeout") {
      this.epoch++;
      this.log.warn({ ms }, "a lease request did not answer before the renew deadline");
      return false;
    }
    return result;
  }

  /** client-go `release`: empty holder, 1 s lease, written over the last version we know. Best effort. */
  private async release(): Promise<void> {
    const observed = this.observation;
    if (!observed || observed.record.holderIdentity !== this.identity || !this.resourceVersion) return;
    const record = releasedRecord(observed.record, new V1MicroTime(this.clock.now()).toISOString());
    try {
      const written = await this.withDeadline(
        this.lock.update(record, this.resourceVersion).then((w) => {
          this.wrote(w);
          return true;
        }),
        this.timings.renewDeadlineMs,
      );
      if (written) this.log.info("released the lease");
    } catch (err) {
      this.log.warn({ err: describe(err) }, "cannot release the lease; it will expire instead");
    }
  }

  private callStarted(signal: AbortSignal): Promise<void> {
    try {
      return Promise.resolve(this.callbacks.onStartedLeading?.(signal)).catch((err: unknown) => {
        this.log.error({ err: describe(err) }, "onStartedLeading failed");
      });
    } catch (err) {
      this.log.error({ err: describe(err) }, "onStartedLeading failed");
      return Promise.resolve();
    }
  }

  private async boundedWait(p: Promise<void>, ms: number): Promise<void> {
    const timer = new AbortController();
    await Promise.race([p, this.sleep(ms, timer.signal)]);
    timer.abort();
  }

  /** client-go maybeReportTransition: tell onNewLeader about each new non-empty holder. */
  private reportLeader(): void {
    const holder = this.getLeader();
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder === "") return;
    this.log.info({ leader: holder }, "new leader");
    try {
      this.callbacks.onNewLeader?.(holder);
    } catch (err) {
      this.log.error({ err: describe(err) }, "onNewLeader failed");
    }
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = apiStatus(err);
  const body = (err as { body?: unknown }).body;
  let message = err.message;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === "string") message = parsed.message;
    } catch {
      // not JSON: keep the error's own message
    }
  }
  return code === undefined ? message : `HTTP ${code}: ${message}`;
}

/** Callbacks of several parties in one (e.g. the pod label and the controller's work). */
export function combineCallbacks(...all: LeaderCallbacks[]): LeaderCallbacks {
  return {
    onStartedLeading: async (signal) => {
      await Promise.all(all.map((c) => c.onStartedLeading?.(signal)));
    },
    onStoppedLeading: async () => {
      for (const c of all) await c.onStoppedLeading?.();
    },
    onNewLeader: (identity) => {
      for (const c of all) c.onNewLeader?.(identity);
    },
  };
}
