/**
 * The validating webhook's HTTPS server. Every controller replica serves it. TLS certificate and key are
 * read from files and reloaded when either changes (a mounted Secret is replaced atomically through a
 * symlink, so the files are polled by stat, which follows it). A request that is not a well-formed
 * AdmissionReview gets HTTP 400 with a message, an unknown path 404; nothing a client sends can stop the
 * server.
 */
import { readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../../core/log.js";
import {
  admissionResponse,
  isJsonContentType,
  MAX_BODY_BYTES,
  parseAdmissionReview,
  type AdmissionRequest,
} from "./admission.js";
import type { WebhookLookups } from "./lookups.js";
import { webhookMetrics, type WebhookMetrics } from "./metrics.js";
import {
  checkScaledJob,
  checkScaledObject,
  checkTriggerAuthentication,
  verdictOf,
  type Outcome,
} from "./validate.js";

/** The webhook paths, one per kind. */
export const WEBHOOK_PATHS = {
  ScaledObject: "/validate-scaledobject",
  ScaledJob: "/validate-scaledjob",
  TriggerAuthentication: "/validate-triggerauthentication",
  ClusterTriggerAuthentication: "/validate-clustertriggerauthentication",
} as const;
export type ValidatedKind = keyof typeof WEBHOOK_PATHS;

export interface WebhookServerOptions {
  /** Port to listen on; 0 picks a free one (see the returned `port`). */
  port: number;
  /** Address to listen on; default all interfaces. */
  host?: string;
  certFile: string;
  keyFile: string;
  lookups: WebhookLookups;
  registry: Registry;
  logger: Logger;
  /** How often the certificate files are checked for changes; default 10 s. */
  certCheckIntervalMs?: number;
}

export interface WebhookServer {
  port: number;
  /** Stops accepting connections and waits for open requests to finish. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fileStamp(file: string): string {
  const s = statSync(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
      reject(
        new HttpError(400, `the body is ${declared} bytes; the limit is ${MAX_BODY_BYTES} bytes (3 MiB)`),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        chunks.length = 0;
        reject(new HttpError(400, `the body is larger than ${MAX_BODY_BYTES} bytes (3 MiB)`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (err) => {
      if (!failed) reject(err);
      failed = true;
    });
  });
}

function sendText(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
) {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
  res.end(`${message}\n`);
}

/** Starts the server; resolves once it listens. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { lookups, logger } = options;
  const metrics: WebhookMetrics = webhookMetrics(options.registry);
  const routes = new Map<string, ValidatedKind>(
    Object.entries(WEBHOOK_PATHS).map(([kind, path]) => [path, kind as ValidatedKind]),
  );

  const check = async (kind: ValidatedKind, request: AdmissionRequest): Promise<Outcome> => {
    const op = request.operation;
    if (op !== "CREATE" && op !== "UPDATE") return { problems: [], warnings: [], skipped: true };
    const got = (request.object as { kind?: unknown }).kind;
    if (got !== kind) {
      return {
        problems: [
          {
            reason: "wrong-path",
            message: `${WEBHOOK_PATHS[kind]} validates ${kind} objects, got ${JSON.stringify(got)}: check the webhook configuration's rules`,
          },
        ],
        warnings: [],
        skipped: false,
      };
    }
    switch (kind) {
      case "ScaledObject":
        return checkScaledObject(request, { lookups, metrics });
      case "ScaledJob":
        return checkScaledJob(request);
      default:
        return checkTriggerAuthentication(request, kind);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const kind = routes.get(path);
    if (!kind) {
      sendText(res, 404, `no webhook at ${path}; lagscale serves ${[...routes.keys()].join(", ")}`);
      return;
    }
    if (req.method !== "POST") {
      sendText(res, 405, `${path} accepts POST only, got ${req.method ?? ""}`, { allow: "POST" });
      return;
    }
    const contentType = req.headers["content-type"];
    if (!isJsonContentType(contentType)) {
      req.resume();
      sendText(res, 400, `Content-Type must be application/json, got ${JSON.stringify(contentType ?? "")}`);
      return;
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof HttpError) {
        // Stop reading: answer and close the connection.
        sendText(res, err.status, err.message, { connection: "close" });
        req.resume();
        return;
      }
      throw err;
    }
    const parsed = parseAdmissionReview(body);
    if (!parsed.ok) {
      sendText(res, 400, `not a valid AdmissionReview: ${parsed.message}`);
      return;
    }
    const request = parsed.request;
    const outcome = await check(kind, request);
    const verdict = verdictOf(outcome);
    const log = {
      kind,
      namespace: request.namespace,
      name: request.name,
      operation: request.operation,
      uid: request.uid,
      dryRun: request.dryRun === true,
    };
    if (!verdict.allowed) logger.info({ ...log, problems: outcome.problems }, "refused");
    else logger.debug({ ...log, skipped: outcome.skipped, warnings: outcome.warnings }, "allowed");
    const out = JSON.stringify(admissionResponse(request.uid, verdict));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(out);
  };

  let stamp = `${fileStamp(options.certFile)}|${fileStamp(options.keyFile)}`;
  const server: Server = createServer(
    {
      cert: readFileSync(options.certFile),
      key: readFileSync(options.keyFile),
      requestTimeout: 30_000,
      headersTimeout: 10_000,
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        logger.error({ err, url: req.url }, "webhook request failed");
        sendText(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
      });
    },
  );
  server.on("clientError", (err, socket) => {
    logger.debug({ err }, "webhook client error");
    socket.destroy();
  });

  const reload = () => {
    let next: string;
    try {
      next = `${fileStamp(options.certFile)}|${fileStamp(options.keyFile)}`;
    } catch (err) {
      logger.error(
        { err, certFile: options.certFile, keyFile: options.keyFile },
        "cannot stat the TLS files",
      );
      return;
    }
    if (next === stamp) return;
    try {
      server.setSecureContext({ cert: readFileSync(options.certFile), key: readFileSync(options.keyFile) });
      stamp = next;
      logger.info({ certFile: options.certFile }, "reloaded the webhook's TLS certificate");
    } catch (err) {
      // A half-written pair (new certificate, old key) fails here; the next check picks up the rest.
      logger.error(
        { err, certFile: options.certFile },
        "cannot load the new TLS certificate; keeping the old one",
      );
    }
  };
  const timer = setInterval(reload, options.certCheckIntervalMs ?? 10_000);
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, paths: Object.values(WEBHOOK_PATHS) }, "webhook server listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
