/**
 * The controller's plain HTTP servers: `/metrics` (Prometheus text format from the registry) and the probes
 * `/healthz` and `/readyz`. A probe answers 200 `ok` when its check returns nothing, else 500 with the
 * reason, in the text form controller-runtime's probes use (`[-]name failed: reason`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../core/log.js";

/** A probe check: undefined when healthy, else why not. */
export type Check = () => string | undefined;

export interface HttpServerOptions {
  /** For logs: "metrics", "health" or "metrics+health". */
  name: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** `/metrics` when given. */
  registry?: Registry;
  /** `/healthz` and `/readyz` when given: name → check. */
  healthz?: Record<string, Check>;
  readyz?: Record<string, Check>;
  logger?: Logger;
}

export interface RunningHttpServer {
  port: number;
  close(): Promise<void>;
}

function probe(checks: Record<string, Check>, verbose: boolean): { status: number; body: string } {
  const lines: string[] = [];
  let failed = false;
  for (const [name, check] of Object.entries(checks)) {
    let reason: string | undefined;
    try {
      reason = check();
    } catch (err) {
      reason = `check threw: ${(err as Error).message}`;
    }
    if (reason !== undefined) {
      failed = true;
      lines.push(`[-]${name} failed: ${reason}`);
    } else lines.push(`[+]${name} ok`);
  }
  if (failed) return { status: 500, body: `${lines.join("\n")}\nhealthz check failed\n` };
  return { status: 200, body: verbose ? `${lines.join("\n")}\nok\n` : "ok" };
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { registry, healthz, readyz, logger } = options;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const send = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed\n");
    const verbose = url.searchParams.has("verbose");
    if (url.pathname === "/metrics" && registry) {
      registry.metrics().then(
        (text) => send(200, text, registry.contentType),
        (err: unknown) => {
          logger?.error({ err }, "could not render metrics");
          send(500, `could not render metrics: ${(err as Error).message}\n`);
        },
      );
      return;
    }
    if (url.pathname === "/healthz" && healthz) {
      const r = probe(healthz, verbose);
      return send(r.status, r.body);
    }
    if (url.pathname === "/readyz" && readyz) {
      const r = probe(readyz, verbose);
      return send(r.status, r.body);
    }
    send(404, "not found\n");
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        new Error(`${options.name} server: cannot listen on ${options.host}:${options.port}: ${err.message}`),
      );
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger?.info(
    { server: options.name, address: `${options.host}:${port}`, port },
    `${options.name} server listening`,
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
