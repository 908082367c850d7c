/**
 * One trigger's part of an evaluation: from what the lag reader (or the clock, for cron) answered to the
 * decision's TriggerInput, keeping the excludePersistentLag memory of each kafka trigger across evaluations
 * (D7). Pure functions; the reads themselves happen in the controller, all due objects in one round.
 */
import { evaluateKafkaLag, EMPTY_LAG_MEMORY, type PersistentLagMemory } from "../../core/lag/index.js";
import type { LagReadResult } from "../../core/kafka/types.js";
import type { TriggerInput } from "../../core/scaling/index.js";
import { cronIsActive, cronMetricValue } from "../../core/triggers/index.js";
import type { ParsedCronTrigger, ParsedKafkaTrigger } from "./spec.js";

export interface TriggerOutcome {
  input: TriggerInput;
  /** Kafka: total lag (before capping), when the read succeeded. */
  lag?: number;
  /** Kafka: the memory for the next evaluation of this trigger. */
  memory?: PersistentLagMemory;
  /** What shaped the result, for the debug log. */
  notes: readonly string[];
  /** A reason to surface (D3: no committed topics). */
  inactiveReason?: string;
}

/** A kafka trigger's outcome from its read (or the reason it could not be read). */
export function kafkaOutcome(
  t: ParsedKafkaTrigger,
  read: LagReadResult | { ok: false; error: string },
  memory: PersistentLagMemory = EMPTY_LAG_MEMORY,
): TriggerOutcome {
  const base = { name: t.metricName, type: "kafka", target: t.meta.lagThreshold, metricType: t.metricType };
  if (!read.ok) {
    return { input: { ...base, error: `${t.metricName}: ${read.error}` }, memory, notes: [] };
  }
  const ev = evaluateKafkaLag(t.meta, { partitions: read.partitions }, memory);
  if (!ev.ok)
    return { input: { ...base, error: `${t.metricName}: ${ev.error}` }, memory: ev.memory, notes: [] };
  const out: TriggerOutcome = {
    input: { ...base, metricValue: ev.metricValue, active: ev.active },
    lag: Math.max(0, ev.totalLagWithPersistent),
    memory: ev.memory,
    notes: ev.notes,
  };
  if (ev.inactiveReason) out.inactiveReason = ev.inactiveReason;
  return out;
}

/** A cron trigger's outcome: desiredReplicas while within the schedule, against a target of 1 (KEDA's). */
export function cronOutcome(t: ParsedCronTrigger, now: Date): TriggerOutcome {
  return {
    input: {
      name: t.metricName,
      type: "cron",
      target: 1,
      metricType: t.metricType,
      metricValue: cronMetricValue(t.meta, now),
      active: cronIsActive(t.meta, now),
    },
    notes: [],
  };
}
