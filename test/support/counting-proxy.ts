/**
 * A counting proxy in front of the local stack's API server, for tests and benchmarks that count what one
 * process asks the API server: the process gets a kubeconfig naming the proxy (plain HTTP on 127.0.0.1),
 * and the proxy forwards every request with the stack's client certificate, streaming watches through.
 * The API server's own `apiserver_request_total` counts every client of the shared stack; this counts one.
 */
import { writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import YAML from "yaml";
import { loadKubeConfig } from "../../controller/kube/index.js";

/** One request as the proxy saw it. */
export interface SeenRequest {
  /** get, list, watch, create, patch, update, delete (the API server's verbs). */
  verb: string;
  /** The path without the query. */
  path: string;
  /** When the proxy received it (epoch ms). */
  at: number;
}

export interface CountingProxy {
  /** A kubeconfig file naming the proxy. */
  kubeconfig: string;
  /** Every request so far, in order. */
  readonly seen: readonly SeenRequest[];
  close(): Promise<void>;
}

/** The API server's verb of a request: a GET of a collection is list, with watch=true it is watch. */
export function verbOf(method: string, url: URL): string {
  const m = method.toUpperCase();
  if (m === "GET") {
    if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") return "watch";
    // /api/v1/namespaces/ns/pods (even segments after the group-version) is a collection
    const parts = url.pathname.split("/").filter(Boolean);
    const gvLength = parts[0] === "api" ? 2 : 3;
    const rest = parts.slice(gvLength);
    const collection = rest[0] === "namespaces" ? rest.length === 3 || rest.length === 1 : rest.length === 1;
    return collection ? "list" : "get";
  }
  return { POST: "create", PUT: "update", PATCH: "patch", DELETE: "delete" }[m] ?? m.toLowerCase();
}

/** Counts of `seen` by verb and by "verb path" (paths with their names, for messages). */
export function countByVerb(seen: readonly SeenRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of seen) out[r.verb] = (out[r.verb] ?? 0) + 1;
  return out;
}

export async function startCountingProxy(stackKubeconfig: string, dir: string): Promise<CountingProxy> {
  const kc = loadKubeConfig(stackKubeconfig);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) throw new Error(`${stackKubeconfig}: no current cluster or user`);
  const upstream = new URL(cluster.server);
  const b64 = (s: string | undefined) => (s ? Buffer.from(s, "base64") : undefined);
  const agent = new https.Agent({
    keepAlive: true,
    ca: b64(cluster.caData),
    cert: b64(user.certData),
    key: b64(user.keyData),
  });
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    seen.push({ verb: verbOf(req.method ?? "GET", url), path: url.pathname, at: Date.now() });
    const headers = { ...req.headers, host: upstream.host };
    const up = https.request(
      { hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        // a watch answers its headers long before its first event: pass them on now
        res.flushHeaders();
        upRes.pipe(res);
      },
    );
    up.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  // Node closes idle keep-alive connections after 5 s; a client reusing one at that moment gets "socket hang
  // up" (seen at 10,000 objects). The API server keeps them far longer, so the proxy does too.
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const kubeconfig = path.join(dir, `counting-proxy-${port}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    YAML.stringify({
      apiVersion: "v1",
      kind: "Config",
      // client-node refuses plain HTTP unless TLS verification is off (there is no TLS to verify)
      clusters: [
        { name: "proxy", cluster: { server: `http://127.0.0.1:${port}`, "insecure-skip-tls-verify": true } },
      ],
      users: [{ name: "proxy", user: {} }],
      contexts: [{ name: "proxy", context: { cluster: "proxy", user: "proxy", namespace: "default" } }],
      "current-context": "proxy",
    }),
  );
  return {
    kubeconfig,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
