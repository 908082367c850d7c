/**
 * A typed, self-healing informer: client-node's ListWatch per watched namespace (or one for all namespaces),
 * plus what it leaves to the caller.
 *
 * What client-node 1.4.0's ListWatch does by itself: it lists, then watches from the list's resourceVersion;
 * on HTTP 410 (or a watch ERROR event with code 410) it clears the resourceVersion and relists, reporting
 * objects that vanished meanwhile as deletes; when the server closes a watch cleanly it resumes from the last
 * resourceVersion. On any other error (connection refused or reset, a failed list, 5xx, 403) it calls its
 * error callbacks and stops for good. Its Watch sets no timeout, so a half-open connection would hang forever.
 *
 * What this adds: a restart after every such error, with exponential back-off (1 s doubling to 30 s, with
 * jitter, reset once a watch connects); watch requests with `timeoutSeconds` (5-10 min, as client-go's
 * reflector) and bookmarks; a periodic resync that re-delivers every cached key; `synced()`; a clean stop
 * (no late watch opened after `stop()`); and change callbacks that are meant to enqueue keys, nothing more.
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { errorText } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { KubeRest } from "./rest.js";
import {
  objectKey,
  parseKey,
  resourcePath,
  type KubeList,
  type KubeObject,
  type ResourceType,
} from "./resources.js";

export type WatchParams = Record<string, string | number | boolean | undefined>;

export interface InformerOptions {
  /** Namespaces to watch; undefined or empty = all namespaces. Ignored for cluster-scoped types. */
  namespaces?: readonly string[];
  labelSelector?: string;
  /** A field selector (`metadata.name=x`): a watch of the named objects only. */
  fieldSelector?: string;
  /**
   * What the cache keeps of each object (list items and watch events): a trimmed copy, so a cache of many
   * objects holds only the fields its reader uses. It must keep `metadata.name`, `namespace` and
   * `resourceVersion`.
   */
  transform?: (object: KubeObject) => KubeObject;
  /** Re-deliver every cached key this often; 0 disables. Default 10 minutes. */
  resyncMs?: number;
  logger?: Logger;
  /** Back-off after failures: first delay and cap. Default 1 s and 30 s. */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Failure injection for tests: called with the query of every watch request (resourceVersion,
   * timeoutSeconds, ...) and may return a changed one. Not for production use.
   */
  onWatchRequest?: (params: WatchParams) => WatchParams;
}

export type ChangeHandler<T> = (key: string, object: T) => void;

const DEFAULT_RESYNC_MS = 10 * 60_000;

/** Watch with a server-side timeout and bookmarks, that opens nothing once its owner stopped. */
class ReflectorWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly owner: NamespaceReflector,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: WatchParams,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- client-node's callback signature
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- client-node's done signature
    done: (err: any) => void,
  ): Promise<AbortController> {
    if (this.owner.stopped) {
      const idle = new AbortController();
      idle.abort();
      return idle;
    }
    let params: WatchParams = {
      ...queryParams,
      allowWatchBookmarks: true,
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
    };
    if (this.owner.onWatchRequest) params = this.owner.onWatchRequest(params);
    let failed = false;
    const transform = this.owner.transform;
    const deliver: typeof callback = transform
      ? (phase, apiObj, watchObj) =>
          // ERROR and BOOKMARK objects are not cached objects: passed on as they are
          callback(
            phase,
            phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED" ? transform(apiObj) : apiObj,
            watchObj,
          )
      : callback;
    const controller = await super.watch(path, params, deliver, (err: unknown) => {
      if (err) failed = true;
      done(err);
    });
    if (!failed) this.owner.connected();
    return controller;
  }
}

/** One ListWatch (one namespace or all) and its restarts. */
class NamespaceReflector {
  stopped = false;
  listed = false;
  readonly lw: ListWatch<KubernetesObject>;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private onListed: (() => void) | undefined;
  readonly listedPromise: Promise<void>;

  constructor(
    kc: KubeConfig,
    rest: KubeRest,
    readonly path: string,
    private readonly label: string,
    selectors: { labelSelector?: string | undefined; fieldSelector?: string | undefined },
    private readonly backoff: { initialMs: number; maxMs: number },
    private readonly logger: Logger | undefined,
    readonly onWatchRequest: ((p: WatchParams) => WatchParams) | undefined,
    readonly transform: ((o: KubernetesObject) => KubernetesObject) | undefined,
  ) {
    this.listedPromise = new Promise((resolve) => (this.onListed = resolve));
    const { labelSelector, fieldSelector } = selectors;
    const query: Record<string, string> = {};
    if (labelSelector) query.labelSelector = labelSelector;
    if (fieldSelector) query.fieldSelector = fieldSelector;
    const list = async () => {
      const l = await rest.get<KubeList<KubernetesObject>>(
        path,
        Object.keys(query).length ? query : undefined,
      );
      return transform ? { ...l, items: l.items.map(transform) } : l;
    };
    this.lw = new ListWatch<KubernetesObject>(
      path,
      new ReflectorWatch(kc, this),
      list,
      false,
      labelSelector,
      fieldSelector,
    );
    this.lw.on("error", (err: unknown) => this.failed(err));
  }

  start(): void {
    this.stopped = false;
    this.run();
  }

  private run(): void {
    this.lw.start().then(
      () => {
        // stop() may have come while the list was in flight
        if (this.stopped) void this.lw.stop();
      },
      (err: unknown) => this.failed(err),
    );
  }

  /** A watch request was answered 200: the list before it (if any) is in the cache. */
  connected(): void {
    this.failures = 0;
    if (!this.listed) {
      this.listed = true;
      this.onListed?.();
    }
  }

  private failed(err: unknown): void {
    if (this.stopped || this.restartTimer) return;
    this.failures++;
    const exp = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** (this.failures - 1));
    const delay = Math.round(exp * (0.8 + Math.random() * 0.4));
    this.logger?.warn(
      { resource: this.label, err: errorText(err), retryInMs: delay },
      "watch failed; restarting",
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopped) this.run();
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.lw.stop();
  }
}

/**
 * A cache of one resource type in the watched namespaces, kept current by list+watch. Register change
 * handlers before `start()`; they get the key and the latest object (the last known state on delete), and
 * should only enqueue the key (or keys mapped from the object) into a WorkQueue.
 */
export class Informer<T extends KubeObject> {
  private readonly reflectors = new Map<string, NamespaceReflector>();
  private readonly handlers = new Set<ChangeHandler<T>>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly resyncMs: number;
  private readonly logger: Logger | undefined;

  constructor(
    kubeConfig: KubeConfig,
    rest: KubeRest,
    readonly type: ResourceType<T>,
    options: InformerOptions = {},
  ) {
    this.resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
    this.logger = options.logger;
    const backoff = options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    const namespaces =
      type.namespaced && options.namespaces?.length ? [...new Set(options.namespaces)] : [""];
    for (const ns of namespaces) {
      const path = resourcePath(type, ns || undefined);
      const label = `${type.plural}${ns ? ` in ${ns}` : ""}`;
      const r = new NamespaceReflector(
        kubeConfig,
        rest,
        path,
        label,
        { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
        backoff,
        this.logger,
        options.onWatchRequest,
        // the same JSON either way: client-node's type only spells timestamps as Date
        options.transform as ((o: KubernetesObject) => KubernetesObject) | undefined,
      );
      const deliver = (obj: KubernetesObject) => this.deliver(obj as T);
      r.lw.on("add", deliver);
      r.lw.on("update", deliver);
      r.lw.on("delete", deliver);
      this.reflectors.set(ns, r);
    }
  }

  /** Calls `handler(key, object)` on add, update, delete and resync. Returns a function that removes it. */
  onChange(handler: ChangeHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  start(): void {
    for (const r of this.reflectors.values()) r.start();
    if (this.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.resyncMs);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    await Promise.all([...this.reflectors.values()].map((r) => r.stop()));
  }

  /** Resolves once every namespace has been listed into the cache (it waits through failures and retries). */
  async synced(): Promise<void> {
    await Promise.all([...this.reflectors.values()].map((r) => r.listedPromise));
  }

  hasSynced(): boolean {
    return [...this.reflectors.values()].every((r) => r.listed);
  }

  /** The cached object for a key ("namespace/name", or "name" when cluster-scoped). */
  get(key: string): T | undefined {
    const { namespace, name } = parseKey(key);
    const r = this.reflectors.get(namespace ?? "") ?? this.reflectors.get("");
    // the cache holds what the API server sent, which is T
    return r?.lw.get(name, namespace) as T | undefined;
  }

  /** Cached objects, in one namespace or all watched ones. */
  list(namespace?: string): T[] {
    const out: T[] = [];
    for (const [ns, r] of this.reflectors) {
      if (namespace && ns && ns !== namespace) continue;
      out.push(...(r.lw.list(namespace) as readonly KubernetesObject[] as readonly T[]));
    }
    return out;
  }

  /** Every cached key to the handlers again (what the periodic resync does). */
  resync(): void {
    for (const obj of this.list()) this.deliver(obj);
  }

  private deliver(obj: T): void {
    const key = objectKey(obj);
    for (const h of this.handlers) {
      try {
        h(key, obj);
      } catch (err) {
        this.logger?.error({ resource: this.type.plural, key, err }, "change handler threw");
      }
    }
  }
}
