/**
 * Sidecar report fixtures for unit tests: a well-formed report, the target pod it comes from, and the
 * TokenReview answer for that pod's token. Each test changes what it is about through `over`.
 */
import type { SidecarReport } from "../../core/reports/schema.js";
import { REPORTS_AUDIENCE, type TokenReviewStatus } from "../../controller/reports/auth.js";
import type { TargetPod } from "../../controller/kube/index.js";

/** The clock the fixtures are stamped with (epoch ms). */
export const SAMPLE_NOW = 1_800_000_000_000;

/** A Running pod of the scale target: shop/consumer-a, uid-a, 127.1.0.5. */
export function samplePod(over: Partial<TargetPod> = {}): TargetPod {
  return {
    namespace: "shop",
    name: "consumer-a",
    uid: "uid-a",
    ip: "127.1.0.5",
    phase: "Running",
    ready: true,
    terminating: false,
    deletionCost: undefined,
    nodeName: "n",
    labels: {},
    ...over,
  };
}

/** A valid report from samplePod() for ScaledObject shop/consumer: busy, 50 lag on orders/0. */
export function sampleReport(over: Partial<SidecarReport> = {}): SidecarReport {
  return {
    version: 1,
    pod: { namespace: "shop", name: "consumer-a", ip: "127.1.0.5" },
    scaledObject: "consumer",
    consumerGroup: "g1",
    observedAt: SAMPLE_NOW,
    urgent: false,
    state: "busy",
    groupState: "Stable",
    members: 1,
    partitions: [
      {
        topic: "orders",
        partition: 0,
        committedOffset: 0,
        logEndOffset: 50,
        lag: 50,
        stalledForMs: 0,
        ratePerSecond: 1,
        stalled: false,
      },
    ],
    lag: 50,
    ratePerSecond: 1,
    ...over,
  };
}

/** What a TokenReview answers for a projected token bound to pod shop/`name`. */
export function podTokenReview(name: string, uid: string, audience = REPORTS_AUDIENCE): TokenReviewStatus {
  return {
    authenticated: true,
    audiences: [audience],
    user: {
      username: "system:serviceaccount:shop:default",
      extra: {
        "authentication.kubernetes.io/pod-name": [name],
        "authentication.kubernetes.io/pod-uid": [uid],
      },
    },
  };
}
