/**
 * Fixtures for the injector's unit and hostile tests: a consumer pod as the ReplicaSet controller creates
 * it, the ScaledObject that targets its Deployment, an AdmissionReview around the pod, and fake lookups
 * (an in-memory cluster: the tests are about the decision, not about the API server).
 */
import type { V1Pod } from "@kubernetes/client-node";
import type { TriggerAuthenticationSpec } from "../../core/crd/index.js";
import type { InjectLookups, InjectOptions, ScaledObjectView } from "../../controller/inject/index.js";

export const NS = "shop";
export const DEPLOYMENT = "orders";
export const REPLICA_SET = "orders-7d9f";

export function consumerPod(
  over: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: `${REPLICA_SET}-`,
      namespace: NS,
      labels: { app: DEPLOYMENT, "lagscale.io/inject": "enabled", ...over.labels },
      ...(over.annotations ? { annotations: over.annotations } : {}),
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: REPLICA_SET, uid: "rs-uid", controller: true },
      ],
    },
    spec: {
      containers: [
        {
          name: "consumer",
          image: "example/orders:1",
          env: [
            { name: "BROKERS", value: "kafka-0.kafka:9092,kafka-1.kafka:9092" },
            { name: "KAFKA_PASS", valueFrom: { secretKeyRef: { name: "kafka-user", key: "password" } } },
          ],
        },
      ],
    },
  };
}

export function scaledObject(over: Partial<ScaledObjectView> = {}): ScaledObjectView {
  return {
    name: "orders",
    scaleTargetRef: { name: DEPLOYMENT },
    triggers: [
      {
        type: "kafka",
        metadata: {
          bootstrapServers: "kafka:9092",
          consumerGroup: "orders",
          topic: "orders",
          lagThreshold: "50",
        },
      },
    ],
    ...over,
  };
}

export function review(pod: unknown, request: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "11111111-2222-3333-4444-555555555555",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      namespace: NS,
      operation: "CREATE",
      object: pod,
      ...request,
    },
  };
}

/** An in-memory cluster. `fail` makes every lookup throw (the API server unreachable). */
export class FakeLookups implements InjectLookups {
  scaledObjects: ScaledObjectView[] = [scaledObject()];
  replicaSets = new Map<string, { apiVersion: string; kind: string; name: string; uid?: string } | undefined>(
    [[REPLICA_SET, { apiVersion: "apps/v1", kind: "Deployment", name: DEPLOYMENT, uid: "deploy-uid" }]],
  );
  auths = new Map<string, TriggerAuthenticationSpec>();
  fail: Error | undefined;
  /** Never answers (a hung API server). */
  hang = false;
  /** Each answer takes this long (a slow API server). */
  delayMs = 0;
  calls = 0;

  private async answer<T>(value: () => T): Promise<T> {
    this.calls++;
    if (this.hang) return new Promise<T>(() => undefined);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw this.fail;
    return value();
  }

  replicaSetOwner(_namespace: string, name: string) {
    return this.answer(() => {
      if (!this.replicaSets.has(name)) return { found: false as const };
      const owner = this.replicaSets.get(name);
      return owner ? { found: true as const, owner } : { found: true as const };
    });
  }

  listScaledObjects() {
    return this.answer(() => structuredClone(this.scaledObjects));
  }

  getTriggerAuthentication(kind: string, namespace: string, name: string) {
    return this.answer(() =>
      this.auths.get(kind === "ClusterTriggerAuthentication" ? `cluster/${name}` : `${namespace}/${name}`),
    );
  }
}

export function injectOptions(lookups: InjectLookups, over: Partial<InjectOptions> = {}): InjectOptions {
  return {
    lookups,
    defaults: {
      image: "lagscale/sidecar:0.1.0",
      reportUrl: "https://lagscale-reports.lagscale.svc:9444/v1/reports",
    },
    version: "0.1.0",
    clusterObjectNamespace: "lagscale",
    excludedNamespaces: new Set(["kube-system", "kube-node-lease", "kube-public", "lagscale"]),
    ...over,
  };
}

/** Applies the `add` operations of a JSONPatch (all the injector emits) to a copy of `doc`. */
export function applyAddPatch<T>(doc: T, ops: readonly { op: string; path: string; value: unknown }[]): T {
  const out = structuredClone(doc) as unknown;
  for (const op of ops) {
    if (op.op !== "add") throw new Error(`unexpected op ${op.op}`);
    const keys = op.path
      .split("/")
      .slice(1)
      .map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    let parent = out as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) {
      const next = parent[k];
      if (typeof next !== "object" || next === null) throw new Error(`path ${op.path}: no ${k}`);
      parent = next as Record<string, unknown>;
    }
    const last = keys.at(-1)!;
    if (Array.isArray(parent) && last === "-") parent.push(op.value);
    else if (Object.hasOwn(parent, last)) throw new Error(`path ${op.path} exists: add would replace it`);
    else parent[last] = op.value;
  }
  return out as T;
}
