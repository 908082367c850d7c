/**
 * The pod runner: kubelet and scheduler for one Node of the local stack. It registers the Node, binds every
 * pending pod that has no node to it, and runs the pods bound to it (see pod-worker.ts): from their images
 * through podman when it has a container engine and the image is there, as local processes otherwise.
 */
import path from "node:path";
import { KubeConfig, CoordinationV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { createLogger, type Logger } from "../../../core/log.js";
import { hostAddress } from "../host-address.js";
import { repoRoot } from "../paths.js";
import { buildDnsHook } from "./dns-hook-build.js";
import type { EnvLookups } from "./env.js";
import { loadImageMap, type ImageMap, type Placeholders } from "./images.js";
import { ENGINE_ENV, PodmanEngine } from "./engine.js";
import { IpPool } from "./ip-pool.js";
import { sleep } from "../process.js";
import { apiServerAddress, apiStatus, clusterCaPem, describeError, loadKubeConfig } from "./kube.js";
import { acquireLock } from "./lock.js";
import { NodeAgent } from "./node.js";
import { runnerId } from "./podman-args.js";
import { PodWorker } from "./pod-worker.js";
import { ServiceProxy } from "./service-proxy.js";
import type { PodView } from "./services.js";
import { watchFrom, type WatchHandle } from "./watch.js";

export interface PodRunnerOptions {
  /**
   * Path of a kubeconfig with rights to nodes, pods, bindings, leases, serviceaccounts/token, secrets, configmaps,
   * services (list, watch) and endpointslices (the Service proxy).
   */
  kubeconfig: string;
  /** The stack's state folder: container logs go to `<stateDir>/pods/<namespace>/<pod>/<container>.log`. */
  stateDir: string;
  nodeName: string;
  /** Extra image map files (JSON), besides LAGSCALE_POD_RUNNER_IMAGES. */
  imageFiles?: string[];
  /** Kubernetes version to report as the node's kubelet version. */
  kubeletVersion?: string;
  /**
   * The container engine: a podman command (`podman`, a path), or `none`. Default: LAGSCALE_POD_RUNNER_ENGINE,
   * else none. It runs with `engineEnv` (default: the runner's environment, so CONTAINERS_CONF and the like
   * pass through).
   */
  engine?: string;
  engineEnv?: NodeJS.ProcessEnv;
  log?: Logger;
}

const HOST_IP = "127.0.0.1";
/** Environment every container starts from (then image env, then the pod's env). */
const HOST_ENV_KEYS = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LAGSCALE_CACHE_DIR"];
/** Grace period cap when the runner itself stops (a pod asking for an hour would hold up `stack down`). */
const RUNNER_STOP_GRACE_S = 30;

function key(pod: V1Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
}

function terminalPhase(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

export class PodRunner {
  readonly nodeName: string;
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly log: Logger;
  private readonly pool = new IpPool();
  private readonly workers = new Map<string, PodWorker>();
  private readonly binding = new Set<string>();
  /** Pod IPs reserved at a list for pods that had them before this runner started. */
  private readonly reserved = new Map<string, string>();
  private readonly deleting = new Map<string, Promise<void>>();
  private node: NodeAgent | undefined;
  private engine: PodmanEngine | undefined;
  private readonly runnerId: string;
  private images: ImageMap;
  private readonly placeholders: Placeholders;
  private readonly baseEnv: Record<string, string>;
  private readonly clusterEnv: Record<string, string>;
  private readonly caPem: string;
  private readonly lookups: EnvLookups;
  private stopped = false;
  private watchAbort: WatchHandle | undefined;
  private readonly proxy: ServiceProxy | undefined;
  private serviceNames: { hookUrl: string; tableFile: string } | undefined;
  private loop: Promise<void> = Promise.resolve();
  private readonly stopSignal = new AbortController();
  private releaseLock: () => void = () => {};

  private readonly opts: PodRunnerOptions;

  constructor(options: PodRunnerOptions) {
    // absolute: volume folders are bind-mounted into containers, and containers' env names the hook's path
    const opts = { ...options, stateDir: path.resolve(options.stateDir) };
    this.opts = opts;
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(opts.nodeName)) {
      throw new Error(
        `node name ${JSON.stringify(opts.nodeName)} is not a valid DNS subdomain (lower-case a-z, 0-9, '-', '.')`,
      );
    }
    this.nodeName = opts.nodeName;
    this.log = opts.log ?? createLogger("pod-runner");
    this.kc = loadKubeConfig(opts.kubeconfig);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.runnerId = runnerId(opts.stateDir, opts.nodeName);
    this.images = loadImageMap(opts.imageFiles ?? []);
    this.placeholders = { node: process.execPath, tsx: import.meta.resolve("tsx"), repoRoot };
    const api = apiServerAddress(this.kc);
    const hostEnv = Object.fromEntries(
      HOST_ENV_KEYS.flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k] as string]] : [])),
    );
    this.clusterEnv = {
      KUBERNETES_SERVICE_HOST: api.host,
      KUBERNETES_SERVICE_PORT: api.port,
      KUBERNETES_SERVICE_PORT_HTTPS: api.port,
      KUBERNETES_PORT: `tcp://${api.host}:${api.port}`,
    };
    this.baseEnv = { ...hostEnv, ...this.clusterEnv };
    this.caPem = clusterCaPem(this.kc);
    let address: string | undefined;
    try {
      address = hostAddress();
    } catch (err) {
      this.log.warn(
        { err: describeError(err) },
        "no Service proxy: Services with a selector will not reach pods",
      );
    }
    this.proxy =
      address === undefined
        ? undefined
        : new ServiceProxy({
            kc: this.kc,
            core: this.core,
            log: this.log,
            dir: path.join(opts.stateDir, "pod-runner"),
            hostAddress: address,
            pods: () => this.podViews(),
          });
    const core = this.core;
    this.lookups = {
      async getSecret(namespace, name) {
        try {
          return await core.readNamespacedSecret({ name, namespace });
        } catch (err) {
          if (apiStatus(err) === 404) return undefined;
          throw err;
        }
      },
      async getConfigMap(namespace, name) {
        try {
          return await core.readNamespacedConfigMap({ name, namespace });
        } catch (err) {
          if (apiStatus(err) === 404) return undefined;
          throw err;
        }
      },
    };
  }

  /** Registers the node (Ready) and starts watching pods. Resolves once the node is registered. */
  async start(): Promise<void> {
    this.releaseLock = acquireLock(this.opts.stateDir, this.nodeName);
    try {
      await this.startEngine();
      this.node = new NodeAgent(
        this.core,
        this.kc.makeApiClient(CoordinationV1Api),
        {
          name: this.nodeName,
          hostIP: HOST_IP,
          kubeletVersion: this.opts.kubeletVersion ?? "v0.0.0-lagscale",
          ...(this.engine ? { containerRuntimeVersion: `podman://${this.engine.version}` } : {}),
        },
        this.log,
      );
      await this.node.register();
    } catch (err) {
      this.releaseLock();
      throw err;
    }
    if (this.proxy) {
      this.serviceNames = {
        hookUrl: buildDnsHook(path.join(this.opts.stateDir, "pod-runner", "dns-hook")),
        tableFile: this.proxy.tableFile,
      };
      this.proxy.start();
    }
    this.log.info(
      {
        node: this.nodeName,
        images: Object.keys(this.images),
        engine: this.engine ? `${this.engine.command} ${this.engine.version}` : "none",
        api: this.baseEnv.KUBERNETES_SERVICE_HOST,
      },
      "pod runner started",
    );
    this.loop = this.watchLoop();
  }

  /**
   * The engine named by the options or LAGSCALE_POD_RUNNER_ENGINE, if it answers; then the containers an
   * earlier runner of this stack left (killed without stopping its pods): the pods bound here run again.
   */
  private async startEngine(): Promise<void> {
    const command = (this.opts.engine ?? process.env[ENGINE_ENV] ?? "").trim();
    if (!command || command === "none") return;
    this.engine = await PodmanEngine.detect(
      { command, ...(this.opts.engineEnv ? { env: this.opts.engineEnv } : {}) },
      this.log,
    );
    if (!this.engine) return;
    const removed = await this.engine.removeLeftovers(this.runnerId);
    if (removed > 0)
      this.log.info({ removed, runner: this.runnerId }, "removed containers an earlier runner left");
  }

  /** Stops every pod's processes (SIGTERM, grace period, SIGKILL), then the heartbeats. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopSignal.abort();
    this.watchAbort?.abort();
    const workers = [...this.workers.values()];
    this.log.info({ pods: workers.length }, "stopping pod runner");
    await Promise.all(
      workers.map(async (w) => {
        const grace = Math.min(w.pod.spec?.terminationGracePeriodSeconds ?? 30, RUNNER_STOP_GRACE_S);
        await w
          .terminate(grace, { report: false })
          .catch((err: unknown) => this.log.warn({ err: describeError(err) }, "stop failed"));
      }),
    );
    this.node?.stop();
    await this.proxy?.stop();
    await this.loop;
    this.releaseLock();
    this.log.info("pod runner stopped");
  }

  /** List, reconcile, watch; on any error or the end of a watch, back off and list again. */
  private async watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const list = await this.core.listPodForAllNamespaces({});
        const seen = new Set<string>();
        // Pods that already have an IP from an earlier run keep it: reserve them all before any new pod gets one.
        for (const pod of list.items) {
          const ip = pod.status?.podIP;
          const mine =
            pod.spec?.nodeName === this.nodeName &&
            !pod.spec?.hostNetwork &&
            !pod.metadata?.deletionTimestamp;
          if (ip && mine && !this.workers.has(key(pod)) && !terminalPhase(pod) && this.pool.reserve(ip)) {
            this.reserved.set(key(pod), ip);
          }
        }
        for (const pod of list.items) {
          seen.add(key(pod));
          this.handle(pod);
        }
        for (const [uid, w] of this.workers) if (!seen.has(uid)) this.handleGone(w.pod);
        failures = 0;
        const end = await this.watchOnce(list.metadata?.resourceVersion ?? "");
        if (end) this.log.info({ reason: end }, "pod watch ended; listing again");
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const ms = Math.min(500 * 2 ** failures, 30_000);
        this.log.warn({ err: describeError(err), retryInMs: ms }, "pod list/watch failed");
        await sleep(ms, this.stopSignal.signal);
      }
    }
  }

  /** One watch from `resourceVersion`; resolves with why it ended (410 Gone, closed), rejects on errors. */
  private watchOnce(resourceVersion: string): Promise<string> {
    const handle = watchFrom(
      this.kc,
      "/api/v1/pods",
      resourceVersion,
      (type, obj) => {
        const pod = obj as V1Pod;
        if (type === "DELETED") this.handleGone(pod);
        else this.handle(pod);
      },
      () => this.stopped,
    );
    this.watchAbort = handle;
    return handle.ended;
  }

  private handle(pod: V1Pod): void {
    if (this.stopped) return;
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      if (
        !pod.metadata?.deletionTimestamp &&
        !terminalPhase(pod) &&
        !(pod.spec?.schedulingGates?.length ?? 0)
      ) {
        this.bind(pod);
      }
      return;
    }
    if (nodeName !== this.nodeName) return;
    const k = key(pod);
    const worker = this.workers.get(k);
    if (pod.metadata?.deletionTimestamp) {
      if (!this.deleting.has(k)) {
        this.deleting.set(k, this.deletePod(pod, worker));
        // a terminating pod is not ready: no new connections, open ones closed
        this.proxy?.podsChanged();
      }
      return;
    }
    if (worker) {
      worker.update(pod);
      this.proxy?.podsChanged();
      return;
    }
    if (terminalPhase(pod)) return;
    this.startWorker(pod);
  }

  private startWorker(pod: V1Pod): void {
    const k = key(pod);
    let ip: string;
    try {
      const had = pod.status?.podIP;
      const reserved = this.reserved.get(k);
      this.reserved.delete(k);
      ip = pod.spec?.hostNetwork
        ? HOST_IP
        : (reserved ?? (had && this.pool.reserve(had) ? had : this.pool.allocate()));
    } catch (err) {
      this.log.error(
        { err: describeError(err), pod: `${pod.metadata?.namespace}/${pod.metadata?.name}` },
        "no pod IP",
      );
      return;
    }
    const release = () => {
      if (ip !== HOST_IP) this.pool.release(ip);
    };
    const worker = new PodWorker(pod, ip, {
      api: this.core,
      log: this.log,
      nodeName: this.nodeName,
      hostIP: HOST_IP,
      stateDir: this.opts.stateDir,
      images: () => this.currentImages(),
      placeholders: this.placeholders,
      baseEnv: this.baseEnv,
      clusterEnv: this.clusterEnv,
      ...(this.engine ? { engine: this.engine } : {}),
      runnerId: this.runnerId,
      caPem: this.caPem,
      lookups: this.lookups,
      onIdle: release,
      apiServer: this.kc.getCurrentCluster()?.server ?? "",
      ...(this.serviceNames ? { serviceNames: this.serviceNames } : {}),
      onChange: () => this.proxy?.podsChanged(),
    });
    this.workers.set(k, worker);
    worker.start();
  }

  /** What the Service proxy needs of the pods this runner runs now. */
  private podViews(): PodView[] {
    return [...this.workers.values()].map((w) => ({
      namespace: w.namespace,
      name: w.name,
      uid: w.uid,
      ip: w.ip,
      labels: w.pod.metadata?.labels ?? {},
      ready: w.ready,
      ports: (w.pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
    }));
  }

  /** The image map, read again from its files so that a file edited while the stack runs takes effect. */
  private currentImages(): ImageMap {
    try {
      this.images = loadImageMap(this.opts.imageFiles ?? []);
    } catch (err) {
      this.log.warn({ err: describeError(err) }, "image map files are invalid; keeping the last good map");
    }
    return this.images;
  }

  private bind(pod: V1Pod): void {
    const k = key(pod);
    if (this.binding.has(k)) return;
    this.binding.add(k);
    const name = pod.metadata?.name ?? "";
    const namespace = pod.metadata?.namespace ?? "default";
    this.core
      .createNamespacedPodBinding({
        name,
        namespace,
        body: {
          metadata: { name, namespace, ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}) },
          target: { apiVersion: "v1", kind: "Node", name: this.nodeName },
        },
      })
      .then(
        () => this.log.info({ pod: `${namespace}/${name}` }, "bound pod"),
        (err: unknown) => {
          const code = apiStatus(err);
          // 409: bound meanwhile; 404: deleted meanwhile
          if (code !== 409 && code !== 404)
            this.log.warn({ pod: `${namespace}/${name}`, err: describeError(err) }, "binding failed");
        },
      )
      .finally(() => {
        // the watch delivers the bound pod; forget it after a while so a failed binding is retried on relist
        setTimeout(() => this.binding.delete(k), 5_000).unref();
      });
  }

  /** deletionTimestamp set: stop the containers with the grace period, then remove the object (grace 0). */
  private async deletePod(pod: V1Pod, worker: PodWorker | undefined): Promise<void> {
    const name = pod.metadata?.name ?? "";
    const namespace = pod.metadata?.namespace ?? "default";
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    try {
      if (worker) {
        this.log.info({ pod: `${namespace}/${name}`, grace }, "pod deleted: stopping its containers");
        await worker.terminate(grace);
        await worker.cleanup();
      }
      await this.core.deleteNamespacedPod({
        name,
        namespace,
        body: {
          gracePeriodSeconds: 0,
          ...(pod.metadata?.uid ? { preconditions: { uid: pod.metadata.uid } } : {}),
        },
      });
      this.log.info({ pod: `${namespace}/${name}` }, "pod removed");
    } catch (err) {
      const code = apiStatus(err);
      if (code !== 404 && code !== 409) {
        this.log.warn(
          { pod: `${namespace}/${name}`, err: describeError(err) },
          "deleting pod failed; retrying on next list",
        );
        this.deleting.delete(key(pod));
      }
    }
  }

  /** The object is gone (or force-deleted): stop what still runs. */
  private handleGone(pod: V1Pod): void {
    const k = key(pod);
    const worker = this.workers.get(k);
    this.binding.delete(k);
    if (!worker) {
      this.deleting.delete(k);
      return;
    }
    this.workers.delete(k);
    this.proxy?.podsChanged();
    worker.markGone();
    const pending = this.deleting.get(k);
    const grace = Math.min(pod.spec?.terminationGracePeriodSeconds ?? 30, RUNNER_STOP_GRACE_S);
    void (pending ?? worker.terminate(grace).then(() => worker.cleanup()))
      .catch((err: unknown) => this.log.warn({ err: describeError(err) }, "stopping a removed pod failed"))
      .finally(() => this.deleting.delete(k));
  }
}
