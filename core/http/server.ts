/**
 * The plain HTTP servers of the controller and the sidecar: `/metrics` (Prometheus text format from the registry) and the probes
 * `/healthz` and `/readyz`. A probe answers 200 `ok` when its check returns nothing, else 500 with the
 * reason, in the text form controller-runtime's probes use (`[-]name failed: reason`).
 *
 * Any pod may reach these ports: requests go through limits.ts (limits, a top-level handler, a path
 * read without throwing), so no request can stop the process.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../log.js";
import {
  DEFAULT_LIMITS,
  guard,
  hardenServer,
  hasBody,
  HttpError,
  requestPath,
  requestQuery,
  serverOptions,
  type ServerLimits,
} from "./limits.js";
import { errorText } from "../errors.js";

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
  /** Defaults to DEFAULT_LIMITS (see limits.ts). */
  limits?: ServerLimits;
}

export interface RunningHttpServer {
  port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

function probe(checks: Record<string, Check>, verbose: boolean): { status: number; body: string } {
  const lines: string[] = [];
  let failed = false;
  for (const [name, check] of Object.entries(checks)) {
    let reason: string | undefined;
    try {
      reason = check();
    } catch (err) {
      reason = `check threw: ${errorText(err)}`;
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
  const limits = options.limits ?? DEFAULT_LIMITS;
  const ctx = { name: options.name, logger };
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      throw new HttpError(405, "method not allowed: GET or HEAD", hasBody(req));
    }
    // Nothing here reads a body: one sent anyway is refused and its connection closed, not drained.
    if (hasBody(req)) throw new HttpError(400, `${req.method} takes no body`, true);
    const path = requestPath(req);
    const verbose = requestQuery(req).has("verbose");
    if (path === "/metrics" && registry) {
      let text: string;
      try {
        text = await registry.metrics();
      } catch (err) {
        logger?.error({ err }, "could not render metrics");
        throw new HttpError(500, `could not render metrics: ${errorText(err)}`);
      }
      send(res, 200, text, registry.contentType);
      return;
    }
    const checks = path === "/healthz" ? healthz : path === "/readyz" ? readyz : undefined;
    if (checks) {
      const r = probe(checks, verbose);
      send(res, r.status, r.body);
      return;
    }
    send(res, 404, "not found\n");
  };
  const server = http.createServer(serverOptions(limits), guard(handler, ctx));
  hardenServer(server, limits, ctx);
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
