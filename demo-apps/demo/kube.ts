/** The demo's Kubernetes side: apply objects, install the CRDs, wait, list like kubectl, follow Events. */
import { readFileSync, readdirSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type CoreV1Event,
  type KubernetesObject,
  loadAllYaml,
  type V1Pod,
} from "@kubernetes/client-node";
import { apiStatus, describeError } from "../../test/stack/pod-runner/kube.js";
import { sleep } from "../../test/stack/process.js";
import type { EventLike } from "./view.js";

export const FIELD_MANAGER = "lagscale-demo";

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
}

export function kubeClients(kubeconfig: string): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

/** Server-side apply, as `kubectl apply --server-side --force-conflicts` does. */
export async function apply<T extends KubernetesObject>(kube: Kube, obj: T): Promise<T> {
  try {
    return await kube.objects.patch(
      obj,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  } catch (err) {
    const what = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    throw new Error(`applying ${what}: ${describeError(err)}`);
  }
}

export function describeObject(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : "";
  return `${obj.kind?.toLowerCase() ?? "?"}/${ns}${obj.metadata?.name ?? "?"}`;
}

/** Polls `check` until it returns a value, or throws naming `what` and the last error. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    if (signal?.aborted) throw new Error(`interrupted while waiting for ${what}`);
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = describeError(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (${last})` : ""}`);
    }
    await sleep(300, signal);
  }
}

/** Applies every CRD in `dir` and waits until the API server serves them (Established). */
export async function installCrds(kube: Kube, dir: string, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    // loadAllYaml makes typed objects: the client serializes a CRD through its model, and a plain object's
    // `x-kubernetes-int-or-string` (the model's xKubernetesIntOrString) would be dropped on the way.
    const docs: (KubernetesObject | null)[] = loadAllYaml(readFileSync(path.join(dir, file), "utf8"));
    for (const crd of docs) {
      if (!crd) continue;
      await apply(kube, crd);
      names.push(crd.metadata?.name ?? file);
    }
  }
  for (const name of names) {
    await waitFor(
      `CRD ${name} to be established`,
      async () => {
        const crd = await kube.objects.read<KubernetesObject & { status?: { conditions?: Cond[] } }>({
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          metadata: { name },
        });
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
          ? true
          : undefined;
      },
      30_000,
      signal,
    );
  }
  return names;
}

interface Cond {
  type: string;
  status: string;
}

export async function namespaceExists(kube: Kube, name: string): Promise<boolean> {
  try {
    await kube.core.readNamespace({ name });
    return true;
  } catch (err) {
    if (apiStatus(err) === 404) return false;
    throw err;
  }
}

/** Deletes the namespace and waits until it is gone (its pods stopped with their grace periods). */
export async function deleteNamespace(
  kube: Kube,
  name: string,
  timeoutMs = 120_000,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await kube.core.deleteNamespace({ name });
  } catch (err) {
    if (apiStatus(err) === 404) return;
    throw err;
  }
  await waitFor(
    `namespace ${name} to be deleted`,
    async () => ((await namespaceExists(kube, name)) ? undefined : true),
    timeoutMs,
    signal,
  );
}

/** Drops the finalizers of the namespace's ScaledObjects (when no controller is left to remove its own). */
export async function removeFinalizers(kube: Kube, namespace: string): Promise<void> {
  const list = await kube.objects.list("lagscale.io/v1alpha1", "ScaledObject", namespace);
  for (const so of list.items) {
    if (!so.metadata?.finalizers?.length) continue;
    await kube.objects.patch(
      {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "ScaledObject",
        metadata: { name: so.metadata.name, namespace, finalizers: [] },
      },
      undefined,
      undefined,
      FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    );
  }
}

/** A GET against the API server with kubectl's Table output, as `kubectl get` prints it. */
async function getTable(kc: KubeConfig, apiPath: string): Promise<Table> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(apiPath, server);
  const opts: https.RequestOptions = {
    method: "GET",
    headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io, application/json" },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = https.request(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if ((res.statusCode ?? 0) >= 300)
          return reject(new Error(`GET ${apiPath}: ${res.statusCode} ${body}`));
        try {
          resolve(JSON.parse(body) as Table);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${apiPath}: no answer in 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

interface Table {
  columnDefinitions: { name: string; type: string; format?: string; priority?: number }[];
  rows: { cells: unknown[] }[];
}

/** kubectl's age: 45s, 3m12s, 2h5m, 3d. */
export function age(from: Date, now: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 3 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

/** Rows of a Table as `kubectl get` lays them out (priority-0 columns, upper-case headers, two spaces). */
export function formatTable(t: Table, now = new Date()): string[] {
  const cols = t.columnDefinitions.map((c, i) => ({ ...c, i })).filter((c) => (c.priority ?? 0) === 0);
  const grid = [
    cols.map((c) => c.name.toUpperCase()),
    ...t.rows.map((r) =>
      cols.map((c) => {
        const v = r.cells[c.i];
        if (v === undefined || v === null || v === "") return "<none>";
        // the server formats dates as ages already; a raw timestamp (older servers) is turned into one
        if (c.format === "date" || c.type === "date") {
          const d = new Date(String(v));
          return Number.isNaN(d.getTime()) ? String(v) : age(d, now);
        }
        return typeof v === "object" ? JSON.stringify(v) : String(v);
      }),
    ),
  ];
  const widths = cols.map((_, j) => Math.max(...grid.map((row) => row[j]?.length ?? 0)));
  return grid.map((row) =>
    row
      .map((cell, j) => (j === row.length - 1 ? cell : cell.padEnd(widths[j] ?? 0)))
      .join("   ")
      .trimEnd(),
  );
}

/** `kubectl get <plural>.<group> -n <ns>` as lines. */
export async function kubectlGet(
  kube: Kube,
  group: string,
  version: string,
  namespace: string,
  plural: string,
) {
  const prefix = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return formatTable(await getTable(kube.kc, `${prefix}/namespaces/${namespace}/${plural}`));
}

/** The first container problem of the namespace's pods that will not go away by waiting (image, config). */
export function podProblem(pod: V1Pod): { reason: string; message: string } | undefined {
  for (const s of pod.status?.containerStatuses ?? []) {
    const w = s.state?.waiting;
    if (
      w?.reason &&
      /ErrImagePull|ImagePullBackOff|CreateContainerConfigError|InvalidImageName/.test(w.reason)
    ) {
      return { reason: w.reason, message: w.message ?? "" };
    }
  }
  return undefined;
}

/** Events of a namespace not shown yet (an Event seen again with a higher count is new again). */
export class EventFollower {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly kube: Kube,
    private readonly namespace: string,
  ) {}

  async next(): Promise<EventLike[]> {
    const list = await this.kube.core.listNamespacedEvent({ namespace: this.namespace });
    const fresh: { at: number; e: EventLike }[] = [];
    for (const ev of list.items) {
      const key = ev.metadata?.uid ?? `${ev.metadata?.name}`;
      const count = ev.series?.count ?? ev.count ?? 1;
      if ((this.seen.get(key) ?? 0) >= count) continue;
      this.seen.set(key, count);
      fresh.push({ at: eventTime(ev), e: toEventLike(ev, count) });
    }
    return fresh.sort((a, b) => a.at - b.at).map((f) => f.e);
  }
}

function eventTime(ev: CoreV1Event): number {
  const t = ev.series?.lastObservedTime ?? ev.lastTimestamp ?? ev.eventTime ?? ev.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

function toEventLike(ev: CoreV1Event, count: number): EventLike {
  return {
    kind: ev.involvedObject.kind ?? "?",
    name: ev.involvedObject.name ?? "?",
    reason: ev.reason ?? "",
    message: ev.message ?? "",
    type: ev.type ?? "Normal",
    count,
  };
}

/**
 * Kubernetes refuses loopback addresses in Endpoints and EndpointSlices, and pod IPs on the local stack are
 * loopback addresses: the Service's endpoint controllers warn about that on every change. Known, not shown.
 */
export function loopbackEndpointWarning(e: EventLike): boolean {
  return /FailedToUpdateEndpoint/.test(e.reason) && /loopback range/.test(e.message);
}

/** Events worth a line in the live view: the autoscaler's and the Deployments', and every warning. */
export function interesting(e: EventLike): boolean {
  if (loopbackEndpointWarning(e)) return false;
  if (e.type === "Warning") return true;
  return ["ScaledObject", "Deployment", "HorizontalPodAutoscaler"].includes(e.kind);
}
