/**
 * What one consumer pod is doing, from two or more readings of its partitions' offsets. Pure: no I/O, no
 * clock; the memory (each partition's previous committed offsets and when they were seen) comes in and goes
 * out explicitly, so the rules below are table-tested.
 *
 * Per partition (lag as core/lag computes it for the trigger, and reported so):
 * - stalled: lag > 0 and the committed offset has not moved for the stall window (a poison message, a hung
 *   handler). The window counts from the last reading where the offset moved, or from when lag appeared.
 * - rate: committed-offset progress over the rate window, messages per second.
 * - pending work, what the rules below call lag: the lag, except on a partition with nothing committed under
 *   `latest`. There the trigger counts 1 (so that one consumer starts), but the consumer starts at the log end
 *   and has nothing to do: a fresh group on a quiet topic is idle, not stalled.
 * Per pod, in this order:
 * - rebalancing: the group is PreparingRebalance or CompletingRebalance (assignments are about to change);
 * - idle: nothing assigned, or no lag and no committed-offset progress in the rate window;
 * - stalled: every partition with lag is stalled (at least one has lag);
 * - busy: otherwise.
 */
import { partitionLag, type OffsetResetPolicy, type PartitionOffsets } from "../core/lag/index.js";
// Types only: the schema's runtime validator (TypeBox) is the receiver's; the sidecar need not load it.
import type { PartitionReport, ReportedPodState, SidecarReport } from "../core/reports/schema.js";

/** One reading of the pod's part of the group, as sidecar/kafka.ts produces it. */
export interface PodReading {
  /** When Kafka was read, epoch ms. */
  readonly observedAt: number;
  /** The group's state as the coordinator describes it (Stable, PreparingRebalance, Empty...). */
  readonly groupState: string;
  /** How many of the group's members are this pod's. */
  readonly members: number;
  /** The offsets of the partitions assigned to this pod's members, sorted by topic then partition. */
  readonly partitions: readonly PartitionOffsets[];
  /** Set when the group cannot be read as a classic group (KIP-848); partitions are then empty. */
  readonly unsupported?: string | undefined;
}

export interface ClassifyOptions {
  readonly consumerGroup: string;
  readonly offsetResetPolicy: OffsetResetPolicy;
  readonly stallWindowMs: number;
  readonly rateWindowMs: number;
}

interface Sample {
  readonly at: number;
  readonly committed: number;
}

export interface PartitionMemory {
  /** The committed offset at the previous reading (-1: none). */
  readonly committed: number;
  /** Committed-offset samples, oldest first: the rate window plus the one sample just before it. */
  readonly samples: readonly Sample[];
  /** Since when the committed offset has not moved while lag was above 0; undefined without lag. */
  readonly stuckSince: number | undefined;
}

/** Keyed by `topic/partition`. Partitions no longer assigned are dropped. */
export type ClassifyMemory = ReadonlyMap<string, PartitionMemory>;

export const EMPTY_MEMORY: ClassifyMemory = new Map();

export interface Classification {
  readonly state: ReportedPodState;
  readonly partitions: readonly PartitionReport[];
  readonly lag: number;
  readonly ratePerSecond: number;
  readonly memory: ClassifyMemory;
}

const REBALANCING_STATES = new Set(["PreparingRebalance", "CompletingRebalance"]);

/** Keeps the samples inside the window and the newest one before it, so the rate spans the whole window. */
function trimSamples(samples: readonly Sample[], now: number, windowMs: number): Sample[] {
  const start = now - windowMs;
  let first = 0;
  while (first + 1 < samples.length && samples[first + 1]!.at <= start) first++;
  return samples.slice(first);
}

function rateOf(samples: readonly Sample[]): number {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || last.at <= first.at) return 0;
  return Math.max(0, last.committed - first.committed) / ((last.at - first.at) / 1000);
}

export function classify(
  reading: PodReading,
  memory: ClassifyMemory,
  options: ClassifyOptions,
): Classification {
  const now = reading.observedAt;
  const next = new Map<string, PartitionMemory>();
  const partitions: PartitionReport[] = [];
  const pendingOf: number[] = [];
  for (const offsets of reading.partitions) {
    const key = `${offsets.topic}/${offsets.partition}`;
    const result = partitionLag(
      {
        consumerGroup: options.consumerGroup,
        offsetResetPolicy: options.offsetResetPolicy,
        scaleToZeroOnInvalidOffset: false,
        excludePersistentLag: false,
      },
      offsets,
      undefined,
    );
    // The reader fills in every committed offset (-1 without a commit); a partition it could not read counts
    // as no lag rather than failing the whole report.
    const lag = result.ok ? result.lag : 0;
    const pending = result.ok && result.rule !== "no-commit-latest" ? lag : 0;
    const committed = offsets.committed ?? -1;
    const before = memory.get(key);
    const moved = before === undefined || before.committed !== committed;
    // A committed offset that went back (a reset) starts the rate over.
    const history = before !== undefined && committed < before.committed ? [] : (before?.samples ?? []);
    const samples =
      committed < 0 ? [] : trimSamples([...history, { at: now, committed }], now, options.rateWindowMs);
    const stuckSince = pending === 0 ? undefined : moved ? now : (before?.stuckSince ?? now);
    next.set(key, { committed, samples, stuckSince });
    const stalledForMs = stuckSince === undefined ? 0 : now - stuckSince;
    pendingOf.push(pending);
    partitions.push({
      topic: offsets.topic,
      partition: offsets.partition,
      committedOffset: committed,
      logEndOffset: offsets.latest ?? -1,
      lag,
      stalledForMs,
      ratePerSecond: rateOf(samples),
      stalled: pending > 0 && stalledForMs >= options.stallWindowMs,
    });
  }
  const lag = partitions.reduce((sum, p) => sum + p.lag, 0);
  const ratePerSecond = partitions.reduce((sum, p) => sum + p.ratePerSecond, 0);
  return {
    state: podState(reading, partitions, pendingOf, ratePerSecond),
    partitions,
    lag,
    ratePerSecond,
    memory: next,
  };
}

function podState(
  reading: PodReading,
  partitions: readonly PartitionReport[],
  pendingOf: readonly number[],
  ratePerSecond: number,
): ReportedPodState {
  if (reading.unsupported !== undefined) return "idle";
  if (REBALANCING_STATES.has(reading.groupState)) return "rebalancing";
  if (partitions.length === 0) return "idle";
  const withLag = partitions.filter((_, i) => pendingOf[i]! > 0);
  if (withLag.length === 0) return ratePerSecond > 0 ? "busy" : "idle";
  if (withLag.every((p) => p.stalled)) return "stalled";
  return "busy";
}

/** The schema's REPORT_VERSION, checked against its type so that a new version fails to compile here. */
const REPORT_VERSION_SENT: SidecarReport["version"] = 1;

/** Who the report speaks for: the pod, its ScaledObject and the group. */
export interface ReportIdentity {
  readonly pod: { readonly namespace: string; readonly name: string; readonly ip: string };
  readonly scaledObject: string;
  readonly consumerGroup: string;
}

/** The report body for one reading and its classification. */
export function toReport(
  identity: ReportIdentity,
  reading: PodReading,
  c: Classification,
  urgent: boolean,
): SidecarReport {
  return {
    version: REPORT_VERSION_SENT,
    pod: { namespace: identity.pod.namespace, name: identity.pod.name, ip: identity.pod.ip },
    scaledObject: identity.scaledObject,
    consumerGroup: identity.consumerGroup,
    observedAt: reading.observedAt,
    urgent,
    state: c.state,
    // The coordinator's state is free text to us; the schema bounds it.
    groupState: reading.groupState.slice(0, 64),
    members: reading.members,
    partitions: [...c.partitions],
    lag: c.lag,
    ratePerSecond: c.ratePerSecond,
    ...(reading.unsupported !== undefined ? { unsupported: reading.unsupported.slice(0, 1024) } : {}),
  };
}
