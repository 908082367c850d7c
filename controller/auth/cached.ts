/**
 * Trigger inputs from watches instead of a read per evaluation:
 *
 * - TriggerAuthentications (watched namespaces) and ClusterTriggerAuthentications: one informer each, trimmed
 *   to name and spec; there are few of them and every one may be referred to.
 * - Secrets and ConfigMaps: only the ones a trigger refers to, each through a watch of that one object
 *   (`fieldSelector=metadata.name=<name>`), started at its first use and stopped after `idleMs` without use.
 *   A watch of every Secret would hold every Secret of the watched namespaces in memory (service account
 *   tokens, TLS keys, other teams' passwords) for a few that triggers read; a label-selected watch would
 *   need users to label their Secrets, which KEDA does not ask. A rotated password arrives through the
 *   watch and is used by the next evaluation, without a restart.
 * - The scale target's pod template: Deployments and StatefulSets from the target cache (kube/targets.ts),
 *   other kinds from the API server.
 *
 * Whatever the caches cannot answer yet (not listed, a watch that does not connect within `syncTimeoutMs`)
 * is read from the API server (`fallback`), so a watch problem slows an evaluation down but never fails it.
 */
import {
  CLUSTER_TRIGGER_AUTHENTICATIONS,
  CONFIG_MAPS,
  SECRETS,
  TRIGGER_AUTHENTICATIONS,
  type ConfigMap,
  type Informer,
  type InformerOptions,
  type KubeObject,
  type ResourceType,
  type Secret,
  type TargetCache,
} from "../kube/index.js";
import type {
  ClusterTriggerAuthentication,
  TriggerAuthentication,
  TriggerAuthenticationSpec,
} from "../../core/crd/index.js";
import type { Logger } from "../../core/log.js";
import type { AuthRefKind, AuthSources, TargetLookup, TargetRef } from "./sources.js";

export interface CachedAuthKube {
  informer<T extends KubeObject>(type: ResourceType<T>, options?: InformerOptions): Informer<T>;
  dropInformer(informer: Informer<KubeObject>): Promise<void>;
}

export interface CachedAuthOptions {
  /** A referenced Secret's or ConfigMap's watch stops after this long without a read. Default 10 minutes. */
  idleMs?: number;
  /** How long a first read waits for its watch to list before asking the API server. Default 10 s. */
  syncTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

/** Keeps what the resolver reads: name and spec (TriggerAuthentications), name and data (Secrets, ConfigMaps). */
function trim(o: KubeObject): KubeObject {
  const m = o.metadata ?? {};
  const out: KubeObject & { spec?: unknown; data?: unknown } = {
    metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion },
  };
  const src = o as { spec?: unknown; data?: unknown };
  if (src.spec !== undefined) out.spec = src.spec;
  if (src.data !== undefined) out.data = src.data;
  return out;
}

interface Watched<T extends KubeObject> {
  informer: Informer<T>;
  lastUsed: number;
}

export class CachedAuthSources implements AuthSources {
  private readonly triggerAuths: Informer<TriggerAuthentication>;
  private readonly clusterTriggerAuths: Informer<ClusterTriggerAuthentication>;
  private readonly watched = new Map<string, Watched<KubeObject>>();
  private readonly idleMs: number;
  private readonly syncTimeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly kube: CachedAuthKube,
    private readonly targets: TargetCache,
    private readonly fallback: AuthSources,
    private readonly options: CachedAuthOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.syncTimeoutMs = options.syncTimeoutMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.triggerAuths = kube.informer(TRIGGER_AUTHENTICATIONS, { transform: trim });
    this.clusterTriggerAuths = kube.informer(CLUSTER_TRIGGER_AUTHENTICATIONS, { transform: trim });
  }

  /** Referenced Secrets and ConfigMaps watched now ("Secret ns/name"), for tests and logs. */
  watchedObjects(): string[] {
    return [...this.watched.keys()].sort();
  }

  async getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const cached = await this.referenced(SECRETS, namespace, name);
    if (cached === "ask") return this.fallback.getSecret(namespace, name);
    if (!cached) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries((cached as Secret).data ?? {})) {
      out[k] = Buffer.from(v, "base64").toString("utf8");
    }
    return out;
  }

  async getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const cached = await this.referenced(CONFIG_MAPS, namespace, name);
    if (cached === "ask") return this.fallback.getConfigMap(namespace, name);
    return cached ? { ...((cached as ConfigMap).data ?? {}) } : undefined;
  }

  async getTriggerAuthentication(
    kind: AuthRefKind,
    namespace: string,
    name: string,
  ): Promise<TriggerAuthenticationSpec | undefined> {
    const cluster = kind === "ClusterTriggerAuthentication";
    const informer = cluster ? this.clusterTriggerAuths : this.triggerAuths;
    if (!informer.hasSynced()) return this.fallback.getTriggerAuthentication(kind, namespace, name);
    // trimmed to metadata and spec, which may be absent on a hand-made object
    const obj = informer.get(cluster ? name : `${namespace}/${name}`) as
      { spec?: TriggerAuthenticationSpec } | undefined;
    return obj ? (obj.spec ?? {}) : undefined;
  }

  async getPodTemplate(namespace: string, target: TargetRef): Promise<TargetLookup> {
    const [group, version] = target.apiVersion.includes("/") ? target.apiVersion.split("/") : ["", ""];
    const c =
      version === "v1"
        ? this.targets.lookup(namespace, { group: group ?? "", kind: target.kind }, target.name)
        : undefined;
    // a target missing from the cache may be new: the API server answers
    if (!c?.found) return this.fallback.getPodTemplate(namespace, target);
    const template = c.workload.spec?.template;
    return template ? { found: true, template } : { found: true };
  }

  /**
   * A referenced Secret or ConfigMap from its watch (undefined: it does not exist), or "ask" when the watch
   * has not listed within syncTimeoutMs. Watches idle for idleMs are stopped on the way.
   */
  private async referenced<T extends KubeObject>(
    type: ResourceType<T>,
    namespace: string,
    name: string,
  ): Promise<KubeObject | undefined | "ask"> {
    const now = this.now();
    this.sweep(now);
    const key = `${type.kind} ${namespace}/${name}`;
    let w = this.watched.get(key);
    if (!w) {
      const informer = this.kube.informer(type, {
        namespaces: [namespace],
        fieldSelector: `metadata.name=${name}`,
        transform: trim,
        // one object: a resync would only re-deliver it to no handler
        resyncMs: 0,
      }) as unknown as Informer<KubeObject>;
      informer.start();
      w = { informer, lastUsed: now };
      this.watched.set(key, w);
      this.options.logger?.debug({ object: key }, "watching a referenced object");
    }
    w.lastUsed = now;
    if (!w.informer.hasSynced()) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), this.syncTimeoutMs);
      });
      const r = await Promise.race([w.informer.synced().then(() => "synced" as const), timedOut]);
      clearTimeout(timer);
      if (r === "timeout") return "ask";
    }
    return w.informer.get(`${namespace}/${name}`);
  }

  private sweep(now: number): void {
    for (const [key, w] of this.watched) {
      if (now - w.lastUsed <= this.idleMs) continue;
      this.watched.delete(key);
      void this.kube.dropInformer(w.informer);
      this.options.logger?.debug({ object: key }, "stopped watching an object no trigger read lately");
    }
  }
}
