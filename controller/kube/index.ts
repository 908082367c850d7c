/**
 * The controller's Kubernetes I/O: everything the reconcile loop reads from and writes to the API server,
 * and nothing it decides. One entry point:
 *
 *   const kube = connectKube({ kubeconfig, logger });          // namespaces from WATCH_NAMESPACE
 *
 * Watching (informer.ts, workqueue.ts)
 *   const sos = kube.informer(SCALED_OBJECTS);                 // also SCALED_JOBS, TRIGGER_AUTHENTICATIONS,
 *                                                              // CLUSTER_TRIGGER_AUTHENTICATIONS, SECRETS,
 *                                                              // HORIZONTAL_POD_AUTOSCALERS
 *   const queue = new WorkQueue({ name: "scaledobjects", concurrency: 5, logger });
 *   sos.onChange((key) => queue.add(key));                     // keys only: "namespace/name"
 *   kube.start(); await sos.synced();
 *   queue.start(async (key) => {                               // never two runs of one key at once
 *     const so = sos.get(key);                                 // undefined: deleted
 *     ...
 *     return { requeueAfter: 10_000 };                         // or nothing; throw to retry with back-off,
 *   });                                                        // throw TerminalError to give up on the key
 *   Informers relist on 410 Gone, restart with back-off after any other failure, and re-deliver every key
 *   each `resyncMs` (default 10 min).
 *
 * Scaling (scale.ts, discovery.ts, pods.ts)
 *   const s = await kube.scale.get(ns, so.spec.scaleTargetRef);       // s.replicas = spec.replicas of /scale
 *   await kube.scale.setReplicas(ns, so.spec.scaleTargetRef, 5);
 *   s.target is {group, version, kind, resource, namespaced, scalable}; scaleTargetKind(s.target) gives
 *   "apps/v1.Deployment". A kind without /scale throws NotScalableError; a missing object a 404 KubeApiError
 *   (isNotFound(err)).
 *   const pods = await kube.pods.forTarget(s);                         // name, ip, phase, ready, terminating,
 *   await kube.pods.setDeletionCost(ns, pod.name, -1);                 // deletionCost; null clears it
 *   const ready = await kube.pods.readyCount(s);                       // Running and Ready, as the HPA counts;
 *                                                                      // from a pod watch after cachePods()
 *
 * Status, events, finalizers (status.ts, events.ts, finalizers.ts)
 *   await kube.status.patch(SCALED_OBJECTS, so, { conditions: [{ type: "Ready", status: "True", reason, message }],
 *                                                 originalReplicaCount: 3 });
 *     A merge patch of the changed status fields through /status; conditions keep their lastTransitionTime
 *     while their status does not change (mergeConditions); nothing is sent when nothing changed.
 *   kube.events.event(so, "Normal", EventReason.KEDAScaleTargetActivated, "Scaled apps/v1.Deployment ns/x from 0 to 1");
 *     core/v1 Events, repeats counted into one Event, at most one write per series per 10 s.
 *   await kube.finalizers.add(SCALED_OBJECTS, so);  await kube.finalizers.remove(SCALED_OBJECTS, so);
 *     FINALIZER = "finalizer.lagscale.io"; conflicting writers are handled (re-read and retry on 409).
 *
 * Errors from the API server are KubeApiError (method, path, code, reason): the path names the object.
 * Lower level: kube.rest (KubeRest) for any other request, resourcePath() for URLs, objectKey()/parseKey().
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../core/log.js";
import { EventRecorder, type EventRecorderOptions } from "./events.js";
import { Finalizers } from "./finalizers.js";
import { Informer, type InformerOptions } from "./informer.js";
import { PodCache } from "./pod-cache.js";
import { PodClient } from "./pods.js";
import { watchNamespacesFromEnv, type KubeObject, type ResourceType } from "./resources.js";
import { KubeRest, loadKubeConfig } from "./rest.js";
import { ScaleClient } from "./scale.js";
import { StatusWriter } from "./status.js";
import { TargetCache } from "./targets.js";

export * from "./discovery.js";
export * from "./events.js";
export * from "./finalizers.js";
export * from "./informer.js";
export * from "./pod-cache.js";
export * from "./pods.js";
export * from "./resources.js";
export * from "./rest.js";
export * from "./scale.js";
export * from "./selector.js";
export * from "./status.js";
export * from "./targets.js";
export * from "./workqueue.js";

export interface ConnectOptions {
  /** A kubeconfig file or a loaded KubeConfig; default: KUBECONFIG, ~/.kube/config, or in-cluster. */
  kubeconfig?: string | KubeConfig;
  logger?: Logger;
  /** Namespaces informers watch; default from WATCH_NAMESPACE (unset or empty: all namespaces). */
  namespaces?: readonly string[];
  /** Default resync period of informers, in ms (10 minutes). */
  resyncMs?: number;
  events?: EventRecorderOptions;
  /** Clock for condition timestamps (tests). */
  now?: () => Date;
}

export class KubeIO {
  readonly rest: KubeRest;
  readonly scale: ScaleClient;
  readonly pods: PodClient;
  readonly status: StatusWriter;
  readonly events: EventRecorder;
  readonly finalizers: Finalizers;
  /** Watched namespaces; undefined means all. */
  readonly namespaces: readonly string[] | undefined;
  private readonly informers: Informer<KubeObject>[] = [];
  private started = false;
  private targetCache: TargetCache | undefined;
  private podCache: PodCache | undefined;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly options: Omit<ConnectOptions, "kubeconfig"> = {},
  ) {
    this.rest = new KubeRest(kubeConfig);
    this.scale = new ScaleClient(this.rest);
    this.pods = new PodClient(this.rest);
    this.status = new StatusWriter(this.rest, options.now);
    this.events = new EventRecorder(this.rest, { logger: options.logger, ...options.events });
    this.finalizers = new Finalizers(this.rest);
    this.namespaces = options.namespaces?.length ? options.namespaces : watchNamespacesFromEnv();
  }

  /**
   * An informer for `type` in the watched namespaces (cluster-wide for cluster-scoped types). Informers made
   * before `start()` start with it; later ones start at once. All stop on `close()`.
   */
  informer<T extends KubeObject>(type: ResourceType<T>, options: InformerOptions = {}): Informer<T> {
    const informer = new Informer<T>(this.kubeConfig, this.rest, type, {
      namespaces: this.namespaces,
      resyncMs: this.options.resyncMs,
      logger: this.options.logger,
      ...options,
    });
    this.informers.push(informer as unknown as Informer<KubeObject>);
    if (this.started) informer.start();
    return informer;
  }

  /** Stops an informer made here and forgets it (a watch no longer needed). */
  async dropInformer(informer: Informer<KubeObject>): Promise<void> {
    const i = this.informers.indexOf(informer);
    if (i >= 0) this.informers.splice(i, 1);
    await informer.stop();
  }

  /**
   * Deployments and StatefulSets from informers from now on: `scale.get` reads them from the cache, and the
   * returned cache also serves their pod templates (controller/auth).
   */
  cacheTargets(): TargetCache {
    this.targetCache ??= new TargetCache(this);
    this.scale.useCache(this.targetCache);
    return this.targetCache;
  }

  /**
   * Ready pod counts (`pods.readyCount`, for Value metrics) from a pod watch from now on; the watch itself
   * starts at the first count, so a controller without Value triggers never watches pods.
   */
  cachePods(): PodCache {
    this.podCache ??= new PodCache(this);
    this.pods.useCache(this.podCache);
    return this.podCache;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const i of this.informers) i.start();
  }

  /** Resolves when every informer made so far has listed its objects. */
  async synced(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.synced()));
  }

  /** Stops the informers, writes pending events, closes connections. */
  async close(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.events.flush();
    this.rest.close();
  }
}

export function connectKube(options: ConnectOptions = {}): KubeIO {
  const kc =
    typeof options.kubeconfig === "string" || options.kubeconfig === undefined
      ? loadKubeConfig(options.kubeconfig)
      : options.kubeconfig;
  return new KubeIO(kc, options);
}
