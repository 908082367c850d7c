/**
 * The triggers' values of one evaluation: each kafka trigger's lag from the batch's read (with its
 * excludePersistentLag memory), each cron trigger's from the clock, and what the rest of the evaluation needs
 * of them: the decision's inputs, the metric samples, the reports' view of each kafka trigger, the early
 * evaluations' memory and the total lag for status. The reads were started by the batch; this only awaits them.
 */
import type { LagReadResult } from "../../core/kafka/types.js";
import type { PersistentLagMemory } from "../../core/lag/index.js";
import type { TriggerSample } from "../metrics.js";
import { kafkaTriggerForReports, type EvaluatedTrigger, type ReportTrigger } from "../reports/index.js";
import type { EvaluatedKafkaTrigger } from "./early.js";
import type { ReadyEvaluation } from "./prepare.js";
import { cronOutcome, kafkaOutcome, type TriggerOutcome } from "./triggers.js";

export interface TriggerValues {
  outcomes: TriggerOutcome[];
  samples: TriggerSample[];
  /** For the early evaluations' memory (early.ts). */
  kafka: EvaluatedKafkaTrigger[];
  /** For the reports (controller/reports). */
  evaluated: EvaluatedTrigger[];
  reportTriggers: ReportTrigger[];
  /** Sum of the kafka triggers' lag; undefined when no kafka read succeeded. */
  lagSum: number | undefined;
  /** Kafka triggers inactive for a reason people should see (D3), by metric name. */
  inactive: { metricName: string; reason: string }[];
}

/**
 * Awaits the evaluation's reads and computes its triggers' values. `memory` (excludePersistentLag, per metric
 * name) is updated in place, and entries of triggers no longer in the spec are dropped.
 */
export async function triggerValues(
  p: ReadyEvaluation,
  memory: Map<string, PersistentLagMemory>,
  now: Date,
): Promise<TriggerValues> {
  const ns = p.so.metadata.namespace ?? "default";
  const name = p.so.metadata.name ?? "";
  const v: TriggerValues = {
    outcomes: [],
    samples: [],
    kafka: [],
    evaluated: [],
    reportTriggers: [],
    lagSum: undefined,
    inactive: [],
  };
  for (const t of p.triggers) {
    let outcome: TriggerOutcome;
    let latencySeconds: number | undefined;
    if (t.kind === "kafka") {
      const read = p.reads.get(t.index);
      let result: LagReadResult | { ok: false; error: string };
      if (read) {
        result = await read.result;
        latencySeconds = (performance.now() - read.started) / 1000;
      } else result = { ok: false, error: t.connectError ?? "no lag request for this trigger" };
      outcome = kafkaOutcome(t, result, memory.get(t.metricName));
      const forReports = kafkaTriggerForReports(t, outcome, result);
      v.evaluated.push(forReports.evaluated);
      v.reportTriggers.push(forReports.report);
      v.kafka.push({ trigger: t, read: result, lag: outcome.lag });
      if (outcome.memory) memory.set(t.metricName, outcome.memory);
      if (outcome.lag !== undefined) v.lagSum = (v.lagSum ?? 0) + outcome.lag;
      if (outcome.inactiveReason)
        v.inactive.push({ metricName: t.metricName, reason: outcome.inactiveReason });
    } else {
      outcome = cronOutcome(t, now);
    }
    v.outcomes.push(outcome);
    const sample: TriggerSample = {
      labels: {
        namespace: ns,
        scaledObject: name,
        scaler: t.scaler,
        triggerIndex: String(t.index),
        metric: t.metricName,
        type: "scaledobject",
      },
      active: outcome.input.active === true,
      error: outcome.input.error !== undefined,
    };
    if (outcome.input.metricValue !== undefined) sample.value = outcome.input.metricValue;
    if (latencySeconds !== undefined) sample.latencySeconds = latencySeconds;
    if (outcome.lag !== undefined) sample.lag = outcome.lag;
    v.samples.push(sample);
  }
  // Known metric names whose memory is no longer needed (spec change) are dropped.
  for (const k of memory.keys()) if (!p.triggers.some((t) => t.metricName === k)) memory.delete(k);
  return v;
}
