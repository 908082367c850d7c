/**
 * The runner's userspace Service proxy: what kube-proxy and the EndpointSlice controller do for a cluster,
 * for Services with a selector and the pods this runner runs. Each TCP port of such a Service gets two
 * listeners that forward every connection to a ready selected pod (round-robin; none ready: the connection
 * is closed):
 *
 * - for the API server (webhooks, aggregated APIs): a port on the machine's non-loopback address, published
 *   in an EndpointSlice of ours (EndpointSlices refuse the loopback pod IPs);
 * - for pods: the Service's own port on a loopback address of its own (127.253.x.y), which its names
 *   resolve to in the pods' Node programs (service-names.ts, dns-hook.ts).
 *
 * Connections are checked whenever pods or Services change: one whose pod is no longer selected and ready is
 * closed, so a Service selecting `lagscale.io/leader=true` follows the label. Selection logic: services.ts.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { DiscoveryV1Api, type KubeConfig, type CoreV1Api, type V1Service } from "@kubernetes/client-node";
import type { Logger } from "../../../core/log.js";
import { sleep } from "../process.js";
import { IpPool, SERVICE_POOL_FIRST, SERVICE_POOL_LAST } from "./ip-pool.js";
import { apiStatus, describeError } from "./kube.js";
import type { NameTable } from "./service-names.js";
import {
  backendsFor,
  isProxied,
  pickBackend,
  renderEndpointSlice,
  sliceName,
  tcpPorts,
  type PodView,
} from "./services.js";
import { watchFrom, type WatchHandle } from "./watch.js";

export interface ServiceProxyOptions {
  kc: KubeConfig;
  core: CoreV1Api;
  log: Logger;
  /** Where the name table goes: `<dir>/service-names.json`. */
  dir: string;
  /** The machine's non-loopback IPv4 address, where the API server's listeners are. */
  hostAddress: string;
  /** The pods this runner runs, as they are now. */
  pods: () => PodView[];
}

interface Listener {
  /** The Service port's name ("" for a single unnamed port): the EndpointSlice's port name. */
  name: string;
  servicePort: number;
  host: net.Server;
  hostPort: number;
  local: net.Server;
}

interface Conn {
  client: net.Socket;
  upstream: net.Socket;
  uid: string;
  pod: string;
  port: string;
}

interface ServiceState {
  svc: V1Service;
  key: string;
  portsKey: string;
  localIP: string;
  listeners: Listener[];
  conns: Set<Conn>;
  turn: number;
  published: string;
  publishing: Promise<void>;
}

/** How many loopback addresses to try when another process already listens on a Service's port. */
const LOCAL_ATTEMPTS = 5;

function keyOf(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? "default"}/${svc.metadata?.name ?? ""}`;
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

function close(server: net.Server): void {
  server.close();
}

export class ServiceProxy {
  readonly tableFile: string;
  private readonly discovery: DiscoveryV1Api;
  private readonly ips = new IpPool(SERVICE_POOL_FIRST, SERVICE_POOL_LAST);
  private readonly services = new Map<string, ServiceState>();
  /** Serializes changes per Service (listeners open asynchronously). */
  private readonly queue = new Map<string, Promise<void>>();
  private readonly log: Logger;
  private stopped = false;
  private watchAbort: WatchHandle | undefined;
  private readonly stopSignal = new AbortController();
  private loop: Promise<void> = Promise.resolve();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.log = opts.log.child({ part: "service-proxy" });
    this.discovery = opts.kc.makeApiClient(DiscoveryV1Api);
    this.tableFile = path.join(opts.dir, "service-names.json");
  }

  /** Writes an empty name table, then lists and watches Services. */
  start(): void {
    this.writeTable();
    this.loop = this.watchLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    this.watchAbort?.abort();
    clearTimeout(this.refreshTimer);
    await this.loop;
    await Promise.all([...this.queue.values()]);
    for (const state of this.services.values()) this.closeState(state);
    this.services.clear();
    this.writeTable();
  }

  /** The runner's pods changed (labels, readiness, started or stopped): follow them, coalesced. */
  podsChanged(): void {
    if (this.refreshTimer || this.stopped) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshAll();
    }, 20);
  }

  private refreshAll(): void {
    const pods = this.opts.pods();
    for (const state of this.services.values()) this.refresh(state, pods);
  }

  /** Closes connections to pods that no longer qualify; republishes the slice if readiness changed. */
  private refresh(state: ServiceState, pods: PodView[]): void {
    for (const conn of state.conns) {
      const port = tcpPorts(state.svc).find((p) => (p.name ?? "") === conn.port);
      const still = port && backendsFor(state.svc, port, pods).some((b) => b.uid === conn.uid);
      if (!still) {
        this.log.info(
          { service: state.key, port: conn.port, pod: conn.pod },
          "pod no longer selected or ready: closing its connection",
        );
        conn.client.destroy();
        conn.upstream.destroy();
        state.conns.delete(conn);
      }
    }
    this.publish(state, pods);
  }

  private enqueue(key: string, job: () => Promise<void>): void {
    const next = (this.queue.get(key) ?? Promise.resolve())
      .then(job)
      .catch((err: unknown) =>
        this.log.warn({ service: key, err: describeError(err) }, "service proxy update failed"),
      );
    this.queue.set(key, next);
    void next.finally(() => {
      if (this.queue.get(key) === next) this.queue.delete(key);
    });
  }

  private upsert(svc: V1Service): void {
    const key = keyOf(svc);
    this.enqueue(key, async () => {
      if (this.stopped) return;
      const state = this.services.get(key);
      if (!isProxied(svc)) {
        if (state) this.remove(state);
        return;
      }
      const portsKey = JSON.stringify(tcpPorts(svc).map((p) => [p.name ?? "", p.port]));
      if (state && state.portsKey === portsKey) {
        state.svc = svc;
        this.refresh(state, this.opts.pods());
        return;
      }
      if (state) {
        // ports changed: new listeners (and a new slice), same address for pods
        this.closeState(state, { keepIP: true });
        this.services.delete(key);
      }
      const fresh = await this.open(svc, portsKey, state?.localIP);
      this.services.set(key, fresh);
      this.writeTable();
      this.log.info(
        {
          service: key,
          localAddress: fresh.localIP,
          ports: fresh.listeners.map((l) => ({ name: l.name, port: l.servicePort, hostPort: l.hostPort })),
          hostAddress: this.opts.hostAddress,
        },
        "proxying service",
      );
      this.publish(fresh, this.opts.pods());
    });
  }

  private removeKey(key: string): void {
    this.enqueue(key, async () => {
      const state = this.services.get(key);
      if (state) this.remove(state);
      await Promise.resolve();
    });
  }

  private remove(state: ServiceState): void {
    this.closeState(state);
    this.services.delete(state.key);
    this.writeTable();
    this.log.info({ service: state.key }, "service gone: stopped proxying it");
    const namespace = state.svc.metadata?.namespace ?? "default";
    state.publishing = state.publishing
      .then(() => this.discovery.deleteNamespacedEndpointSlice({ name: sliceName(state.svc), namespace }))
      .then(
        () => undefined,
        (err: unknown) => {
          if (apiStatus(err) !== 404)
            this.log.warn(
              { service: state.key, err: describeError(err) },
              "deleting the EndpointSlice failed",
            );
        },
      );
  }

  private closeState(state: ServiceState, opts: { keepIP?: boolean } = {}): void {
    for (const l of state.listeners) {
      close(l.host);
      close(l.local);
    }
    for (const c of state.conns) {
      c.client.destroy();
      c.upstream.destroy();
    }
    state.conns.clear();
    if (!opts.keepIP) this.ips.release(state.localIP);
  }

  /** Listeners for every TCP port: the host face on an allocated port, the pod face on the Service's port. */
  private async open(svc: V1Service, portsKey: string, keepIP: string | undefined): Promise<ServiceState> {
    const state: ServiceState = {
      svc,
      key: keyOf(svc),
      portsKey,
      localIP: "",
      listeners: [],
      conns: new Set(),
      turn: 0,
      published: "",
      publishing: Promise.resolve(),
    };
    const ports = tcpPorts(svc);
    for (let attempt = 0; attempt < LOCAL_ATTEMPTS; attempt++) {
      const ip = attempt === 0 && keepIP ? keepIP : this.ips.allocate();
      const opened: Listener[] = [];
      try {
        for (const p of ports) {
          const name = p.name ?? "";
          const handler = (sock: net.Socket) => this.forward(state, name, sock);
          const local = net.createServer(handler);
          await listen(local, p.port, ip).catch((err: unknown) => {
            close(local);
            throw err;
          });
          const host = net.createServer(handler);
          const hostPort = await listen(host, 0, this.opts.hostAddress).catch((err: unknown) => {
            close(local);
            close(host);
            throw err;
          });
          opened.push({ name, servicePort: p.port, host, hostPort, local });
        }
        state.localIP = ip;
        state.listeners = opened;
        return state;
      } catch (err) {
        for (const l of opened) {
          close(l.host);
          close(l.local);
        }
        // EADDRINUSE: another process has this address and port; keep the address taken and try the next
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EACCES") {
          this.ips.release(ip);
          throw new Error(
            `cannot listen on ${ip} for ${state.key}: ports below 1024 need root or CAP_NET_BIND_SERVICE (${describeError(err)})`,
          );
        }
        if (code !== "EADDRINUSE") {
          this.ips.release(ip);
          throw err;
        }
        this.log.warn(
          { service: state.key, address: ip, err: describeError(err) },
          "address in use; trying another",
        );
      }
    }
    throw new Error(`no free loopback address for ${state.key} after ${LOCAL_ATTEMPTS} attempts`);
  }

  private forward(state: ServiceState, portName: string, client: net.Socket): void {
    const port = tcpPorts(state.svc).find((p) => (p.name ?? "") === portName);
    const backend = port && pickBackend(backendsFor(state.svc, port, this.opts.pods()), state.turn++);
    if (!backend) {
      this.log.debug({ service: state.key, port: portName }, "no ready pod: connection closed");
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: backend.ip, port: backend.port });
    const conn: Conn = { client, upstream, uid: backend.uid, pod: backend.pod, port: portName };
    state.conns.add(conn);
    const end = () => {
      client.destroy();
      upstream.destroy();
      state.conns.delete(conn);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", (err) => {
      this.log.debug({ service: state.key, pod: backend.pod, err: err.message }, "connection to pod failed");
      end();
    });
    upstream.on("close", end);
    client.pipe(upstream).pipe(client);
  }

  /** Create or replace the Service's EndpointSlice when what it says changed. */
  private publish(state: ServiceState, pods: PodView[]): void {
    if (this.stopped || !this.services.has(state.key)) return;
    const ready = tcpPorts(state.svc).some((p) => backendsFor(state.svc, p, pods).length > 0);
    const slice = renderEndpointSlice(
      state.svc,
      this.opts.hostAddress,
      state.listeners.map((l) => ({ name: l.name, port: l.hostPort })),
      ready,
    );
    const text = JSON.stringify(slice);
    if (text === state.published) return;
    state.published = text;
    const namespace = slice.metadata?.namespace ?? "default";
    const name = slice.metadata?.name ?? "";
    state.publishing = state.publishing.then(async () => {
      if (state.published !== text) return; // a newer one follows
      try {
        try {
          await this.discovery.createNamespacedEndpointSlice({ namespace, body: slice });
        } catch (err) {
          if (apiStatus(err) !== 409) throw err;
          const existing = await this.discovery.readNamespacedEndpointSlice({ name, namespace });
          await this.discovery.replaceNamespacedEndpointSlice({
            name,
            namespace,
            body: {
              ...slice,
              metadata: { ...slice.metadata, resourceVersion: existing.metadata?.resourceVersion },
            },
          });
        }
        this.log.info({ service: state.key, ready }, "EndpointSlice published");
      } catch (err) {
        this.log.warn({ service: state.key, err: describeError(err) }, "publishing the EndpointSlice failed");
        state.published = ""; // try again at the next change or relist
      }
    });
  }

  private writeTable(): void {
    mkdirSync(this.opts.dir, { recursive: true });
    const table: NameTable = {
      services: Object.fromEntries([...this.services.values()].map((s) => [s.key, s.localIP])),
    };
    const tmp = `${this.tableFile}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(table, null, 2)}\n`);
    renameSync(tmp, this.tableFile);
  }

  /** List, then watch Services in all namespaces; on any error or the end of a watch, list again. */
  private async watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const list = await this.opts.core.listServiceForAllNamespaces({});
        const seen = new Set(list.items.map(keyOf));
        for (const svc of list.items) this.upsert(svc);
        for (const key of this.services.keys()) if (!seen.has(key)) this.removeKey(key);
        failures = 0;
        const end = await this.watchOnce(list.metadata?.resourceVersion ?? "");
        if (end) this.log.info({ reason: end }, "service watch ended; listing again");
      } catch (err) {
        if (this.stopped) break;
        failures++;
        const ms = Math.min(500 * 2 ** failures, 30_000);
        this.log.warn({ err: describeError(err), retryInMs: ms }, "service list/watch failed");
        await sleep(ms, this.stopSignal.signal);
      }
    }
  }

  private watchOnce(resourceVersion: string): Promise<string> {
    const handle = watchFrom(
      this.opts.kc,
      "/api/v1/services",
      resourceVersion,
      (type, obj) => {
        if (type === "DELETED") this.removeKey(keyOf(obj as V1Service));
        else this.upsert(obj as V1Service);
      },
      () => this.stopped,
    );
    this.watchAbort = handle;
    return handle.ended;
  }
}
