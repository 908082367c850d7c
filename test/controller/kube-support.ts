/**
 * Helpers for test/controller/kube-*.test.ts (the rest is in test/support/kube.ts): lagscale's CRDs applied
 * from the chart, and a TCP proxy in front of the API server that can drop its connections or refuse new ones
 * (a network failure the informer has to survive).
 */
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { isAlreadyExists, isConflict, isNotFound, KubeRest } from "../../controller/kube/index.js";
import { waitFor } from "../support/wait.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The same credentials, pointed at another server URL (e.g. a proxy in front of the API server). */
export function kubeConfigVia(kc: KubeConfig, server: string): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromString(kc.exportConfig());
  const current = copy.getCurrentCluster()!;
  copy.clusters = copy.clusters.map((c) => (c.name === current.name ? { ...c, server } : c));
  return copy;
}

interface Crd {
  metadata: { name: string; resourceVersion?: string };
  status?: { conditions?: { type: string; status: string }[] };
  [field: string]: unknown;
}

/** Creates or updates a CRD and waits until it is Established. */
export async function applyCrd(rest: KubeRest, crd: Crd): Promise<void> {
  const base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  for (let attempt = 0; ; attempt++) {
    try {
      await rest.post(base, crd);
      break;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    try {
      const existing = await rest.get<Crd>(`${base}/${crd.metadata.name}`);
      await rest.put(`${base}/${crd.metadata.name}`, {
        ...crd,
        metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion },
      });
      break;
    } catch (err) {
      if (!(isConflict(err) || isNotFound(err)) || attempt > 5) throw err;
    }
  }
  await waitFor(`CRD ${crd.metadata.name} Established`, async () => {
    const got = await rest.get<Crd>(`${base}/${crd.metadata.name}`);
    return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
      ? true
      : undefined;
  });
}

/** lagscale's CRDs from charts/lagscale/crds, applied (concurrent test files may apply them too). */
export async function applyLagscaleCrds(rest: KubeRest): Promise<void> {
  const dir = path.join(root, "charts/lagscale/crds");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), "utf8"))) {
      const crd = doc.toJS() as Crd | null;
      if (crd) await applyCrd(rest, crd);
    }
  }
}

/** A minimal valid ScaledObject for `target`. */
export function scaledObject(namespace: string, name: string, target = "consumer") {
  return {
    apiVersion: "lagscale.io/v1alpha1" as const,
    kind: "ScaledObject" as const,
    metadata: { namespace, name },
    spec: {
      scaleTargetRef: { name: target },
      triggers: [
        {
          type: "kafka",
          metadata: {
            bootstrapServers: "127.0.0.1:9092",
            consumerGroup: "g",
            topic: "t",
            lagThreshold: "10",
          },
        },
      ],
    },
  };
}

/**
 * A TCP proxy to the API server (TLS passes through untouched: the server certificate is for 127.0.0.1).
 * `drop()` resets every open connection; `refuse()` also stops listening, so reconnects fail until `accept()`.
 */
export class ApiProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Connections accepted so far. */
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  static forServer(server: string): ApiProxy {
    const u = new URL(server);
    return new ApiProxy({ host: u.hostname, port: Number(u.port || 443) });
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async accept(): Promise<void> {
    const server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  drop(): void {
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
  }

  async refuse(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    this.drop();
    await closed;
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}
