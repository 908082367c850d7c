/**
 * Kubernetes Events (core/v1, what `kubectl describe` shows) for lagscale's objects, with KEDA's reason names,
 * aggregated the way client-go's recorder does so that a hot loop cannot flood the API server:
 *
 * - the same event (object, type, reason, message) again is one Event whose `count` grows, not a new Event;
 *   a series is written at once the first time and then at most once per `repeatWindowMs` (later repeats are
 *   counted locally and written together, with the last timestamp);
 * - more than `maxSimilar` different messages for the same (object, type, reason) within 10 minutes are
 *   folded into one series with the message "(combined from similar events): <latest message>", as client-go's
 *   EventAggregator.
 *
 * `event()` never throws and never waits: a failed write is logged. `flush()` writes what is pending.
 */
import { hostname } from "node:os";
import type { Logger } from "../../core/log.js";
import { kubeTime } from "./status.js";
import type { KubeObject } from "./resources.js";
import { isNotFound, type KubeRest } from "./rest.js";
import { errorText } from "../../core/errors.js";

export type EventType = "Normal" | "Warning";

/** KEDA's event reasons (pkg/eventreason), which lagscale uses unchanged for its objects, and its own. */
export const EventReason = {
  KEDAScalersStarted: "KEDAScalersStarted",
  KEDAScalersStopped: "KEDAScalersStopped",
  KEDAScalerFailed: "KEDAScalerFailed",
  KEDAScalerInfo: "KEDAScalerInfo",
  KEDAScaleTargetActivated: "KEDAScaleTargetActivated",
  KEDAScaleTargetDeactivated: "KEDAScaleTargetDeactivated",
  KEDAScaleTargetActivationFailed: "KEDAScaleTargetActivationFailed",
  KEDAScaleTargetDeactivationFailed: "KEDAScaleTargetDeactivationFailed",
  ScaledObjectReady: "ScaledObjectReady",
  ScaledObjectCheckFailed: "ScaledObjectCheckFailed",
  ScaledObjectUpdateFailed: "ScaledObjectUpdateFailed",
  ScaledObjectPaused: "ScaledObjectPaused",
  ScaledObjectUnpaused: "ScaledObjectUnpaused",
  ScaledObjectFallbackActivated: "ScaledObjectFallbackActivated",
  ScaledObjectFallbackDeactivated: "ScaledObjectFallbackDeactivated",
  ScaledObjectDeleted: "ScaledObjectDeleted",
  ScaledJobReady: "ScaledJobReady",
  ScaledJobCheckFailed: "ScaledJobCheckFailed",
  ScaledJobUpdateFailed: "ScaledJobUpdateFailed",
  ScaledJobActive: "ScaledJobActive",
  ScaledJobInactive: "ScaledJobInactive",
  ScaledJobPaused: "ScaledJobPaused",
  ScaledJobUnpaused: "ScaledJobUnpaused",
  ScaledJobDeleted: "ScaledJobDeleted",
  ScaledJobRolloutCleanupStarted: "ScaledJobRolloutCleanupStarted",
  ScaledJobRolloutCleanupCompleted: "ScaledJobRolloutCleanupCompleted",
  ScaledJobRolloutCleanupFailed: "ScaledJobRolloutCleanupFailed",
  TriggerAuthenticationAdded: "TriggerAuthenticationAdded",
  TriggerAuthenticationDeleted: "TriggerAuthenticationDeleted",
  ClusterTriggerAuthenticationAdded: "ClusterTriggerAuthenticationAdded",
  ClusterTriggerAuthenticationDeleted: "ClusterTriggerAuthenticationDeleted",
  /** lagscale's own: a sidecar reports a partition whose committed offset does not move while it has lag. */
  KafkaPartitionStalled: "KafkaPartitionStalled",
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

export interface EventRecorderOptions {
  /** source.component and reportingComponent. Default "lagscale-controller". */
  component?: string;
  /** reportingInstance, e.g. the pod name. Default the host name. */
  instance?: string;
  /** Minimum time between two writes of one series. Default 10 s. */
  repeatWindowMs?: number;
  /** Different messages per (object, type, reason) within 10 minutes before they are combined. Default 10. */
  maxSimilar?: number;
  /** Series remembered (least recently used forgotten). Default 4096. */
  maxSeries?: number;
  logger?: Logger;
  now?: () => Date;
}

/** The core/v1 Event as lagscale writes it. */
export interface CoreEvent {
  apiVersion: "v1";
  kind: "Event";
  metadata: { name: string; namespace: string };
  involvedObject: {
    apiVersion?: string;
    kind?: string;
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
  };
  type: EventType;
  reason: string;
  message: string;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

interface Series {
  namespace: string;
  event: Omit<CoreEvent, "metadata" | "count" | "firstTimestamp" | "lastTimestamp">;
  baseName: string;
  name: string | undefined;
  count: number;
  first: Date;
  last: Date;
  lastWriteAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  chain: Promise<void>;
}

const SIMILAR_WINDOW_MS = 10 * 60_000;
const MAX_MESSAGE = 1024;
const COMBINED_PREFIX = "(combined from similar events): ";

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly similar = new Map<string, { since: number; messages: Set<string> }>();
  private readonly component: string;
  private readonly instance: string;
  private readonly repeatWindowMs: number;
  private readonly maxSimilar: number;
  private readonly maxSeries: number;
  private readonly now: () => Date;
  private seq = 0;

  constructor(
    private readonly rest: KubeRest,
    private readonly options: EventRecorderOptions = {},
  ) {
    this.component = options.component ?? "lagscale-controller";
    this.instance = options.instance ?? hostname();
    this.repeatWindowMs = options.repeatWindowMs ?? 10_000;
    this.maxSimilar = options.maxSimilar ?? 10;
    this.maxSeries = options.maxSeries ?? 4096;
    this.now = options.now ?? (() => new Date());
  }

  /** Records an event about `object` (which needs apiVersion, kind and metadata.name). */
  event(object: KubeObject, type: EventType, reason: EventReason | string, message: string): void {
    const meta = object.metadata ?? {};
    const now = this.now();
    const involved = {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: meta.name,
      namespace: meta.namespace,
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
    };
    const objectId = [meta.namespace ?? "", object.kind ?? "", meta.name ?? "", meta.uid ?? ""].join(
      "\u0000",
    );
    let text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    let key = [objectId, type, reason, text].join("\u0000");

    if (!this.series.has(key)) {
      const simKey = [objectId, type, reason].join("\u0000");
      let sim = this.similar.get(simKey);
      if (!sim || now.getTime() - sim.since > SIMILAR_WINDOW_MS) {
        sim = { since: now.getTime(), messages: new Set() };
        this.similar.set(simKey, sim);
      }
      if (!sim.messages.has(text)) {
        if (sim.messages.size < this.maxSimilar) {
          sim.messages.add(text);
        } else {
          key = [simKey, COMBINED_PREFIX].join("\u0000");
          text = `${COMBINED_PREFIX}${text}`.slice(0, MAX_MESSAGE);
        }
      }
      this.trim(this.similar);
    }

    let s = this.series.get(key);
    if (s) {
      this.series.delete(key);
      this.series.set(key, s);
      s.count++;
      s.last = now;
      s.event.message = text;
      s.event.involvedObject = involved;
      this.schedule(s);
      return;
    }
    s = {
      namespace: meta.namespace || "default",
      event: {
        apiVersion: "v1",
        kind: "Event",
        involvedObject: involved,
        type,
        reason,
        message: text,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
      },
      baseName: meta.name || "unknown",
      name: undefined,
      count: 1,
      first: now,
      last: now,
      lastWriteAt: undefined,
      timer: undefined,
      chain: Promise.resolve(),
    };
    this.series.set(key, s);
    this.trim(this.series);
    this.schedule(s);
  }

  /** Writes every pending repeat now and waits for all writes. */
  async flush(): Promise<void> {
    for (const s of this.series.values()) {
      if (s.timer) {
        clearTimeout(s.timer);
        s.timer = undefined;
        this.write(s);
      }
    }
    await Promise.all([...this.series.values()].map((s) => s.chain));
  }

  private schedule(s: Series): void {
    if (s.timer) return;
    const wait = s.lastWriteAt === undefined ? 0 : s.lastWriteAt + this.repeatWindowMs - Date.now();
    if (wait <= 0) {
      this.write(s);
      return;
    }
    s.timer = setTimeout(() => {
      s.timer = undefined;
      this.write(s);
    }, wait);
  }

  private write(s: Series): void {
    s.lastWriteAt = Date.now();
    // what this write says is fixed now; repeats after it are the next write's
    const snapshot = {
      count: s.count,
      message: s.event.message,
      firstTimestamp: kubeTime(s.first),
      lastTimestamp: kubeTime(s.last),
    };
    s.chain = s.chain.then(() => this.send(s, snapshot));
  }

  private async send(
    s: Series,
    snap: { count: number; message: string; firstTimestamp: string; lastTimestamp: string },
  ): Promise<void> {
    const base = `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/events`;
    const { count, message, ...times } = snap;
    try {
      if (s.name) {
        try {
          await this.rest.patch(`${base}/${encodeURIComponent(s.name)}`, {
            count,
            lastTimestamp: times.lastTimestamp,
            message,
          });
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // the Event expired or was deleted: start it again under a new name
        }
      }
      const name = `${s.baseName}.${(BigInt(Date.now()) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
      const body: CoreEvent = {
        ...s.event,
        message,
        metadata: { name, namespace: s.namespace },
        count,
        ...times,
      };
      await this.rest.post(base, body);
      s.name = name;
    } catch (err) {
      this.options.logger?.warn(
        {
          err: errorText(err),
          object: `${s.event.involvedObject.kind} ${s.event.involvedObject.namespace ?? ""}/${s.event.involvedObject.name ?? ""}`,
          reason: s.event.reason,
        },
        "could not write event",
      );
    }
  }

  private trim<V>(map: Map<string, V>): void {
    while (map.size > this.maxSeries) {
      const oldest = map.keys().next().value;
      if (oldest === undefined) break;
      map.delete(oldest);
    }
  }
}
