/**
 * The admission webhooks' HTTPS server: the validating webhook for lagscale's objects and, when given
 * `inject`, the mutating one that adds the sidecar to pods (`/mutate-pod`, ../inject/decide.ts). Every
 * controller replica serves it. TLS certificate and key are
 * read from files and reloaded when either changes (tls-files.ts, shared with the report receiver). A request that is not a well-formed
 * AdmissionReview gets HTTP 400 with a message, a body above 3 MiB 413, an unknown path 404; the limits on
 * headers, time and connections and the top-level handler are core/http/limits.ts's, shared with the other
 * servers, so nothing a client sends can stop the server.
 */
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
  type Verdict,
} from "./admission.js";
import {
  DEFAULT_LIMITS,
  guard,
  hardenServer,
  hasBody,
  HttpError,
  readBody,
  requestPath,
  sendText,
  serverOptions,
  type ServerLimits,
} from "../../core/http/limits.js";
import { TlsFiles } from "../tls-files.js";
import {
  decideInjection,
  INJECTION_SKIPPED,
  type InjectOptions,
  type InjectOutcome,
} from "../inject/decide.js";
import type { KubeObject } from "../kube/resources.js";
import type { WebhookLookups } from "./lookups.js";
import { webhookMetrics, type WebhookMetrics } from "./metrics.js";
import {
  checkScaledJob,
  checkScaledObject,
  checkTriggerAuthentication,
  verdictOf,
  type Outcome,
} from "./validate.js";
import { errorText } from "../../core/errors.js";

/** The webhook paths, one per kind. */
export const WEBHOOK_PATHS = {
  ScaledObject: "/validate-scaledobject",
  ScaledJob: "/validate-scaledjob",
  TriggerAuthentication: "/validate-triggerauthentication",
  ClusterTriggerAuthentication: "/validate-clustertriggerauthentication",
} as const;
export type ValidatedKind = keyof typeof WEBHOOK_PATHS;
/** The sidecar-injecting webhook's path. */
export const MUTATE_POD_PATH = "/mutate-pod";

/** Where the injector's Events go (the controller's EventRecorder). */
export interface EventSink {
  event(object: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
}

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
  /** Defaults to DEFAULT_LIMITS (see core/http/limits.ts). */
  limits?: ServerLimits;
  /** Serve `/mutate-pod` with these settings; without them the path is not served. */
  inject?: InjectOptions & { events?: EventSink };
}

export interface WebhookServer {
  port: number;
  /** Stops accepting connections and waits for open requests to finish. */
  close(): Promise<void>;
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

  const inject = options.inject;
  const served = [...routes.keys(), ...(inject ? [MUTATE_POD_PATH] : [])];

  /** The answer is always "allowed"; what happened is logged, counted and, where someone must act, an Event. */
  const mutate = async (request: AdmissionRequest, o: NonNullable<typeof inject>): Promise<Verdict> => {
    let outcome: InjectOutcome;
    try {
      outcome = await decideInjection(request, o);
    } catch (err) {
      // decideInjection catches lookup errors; anything else is a defect, and still admits the pod.
      outcome = { result: "lookup-failed", problems: [`internal error: ${errorText(err)}`] };
    }
    metrics.injections.inc({ result: outcome.result });
    const log = {
      namespace: outcome.namespace ?? request.namespace,
      pod: outcome.pod,
      uid: request.uid,
      result: outcome.result,
      ...(outcome.scaledObject ? { scaledObject: outcome.scaledObject } : {}),
      ...(outcome.owner
        ? { owner: `${outcome.owner.kind ?? ""}/${outcome.owner.metadata?.name ?? ""}` }
        : {}),
      ...(outcome.problems ? { problems: outcome.problems } : {}),
    };
    if (outcome.result === "injected") logger.info(log, "sidecar injected");
    else if (outcome.problems) logger.warn(log, "sidecar not injected");
    else logger.debug(log, "pod admitted unchanged");
    if (outcome.problems && outcome.owner && outcome.result !== "lookup-failed") {
      const what = outcome.result === "invalid-annotation" ? "invalid annotation" : "cannot inject";
      o.events?.event(
        outcome.owner,
        "Warning",
        INJECTION_SKIPPED,
        `pod ${outcome.pod ?? ""} started without the lagscale sidecar (${what}): ${outcome.problems.join("; ")}`,
      );
    }
    return outcome.patch ? { allowed: true, patch: outcome.patch } : { allowed: true };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = requestPath(req);
    const kind = routes.get(path);
    const mutating = path === MUTATE_POD_PATH && inject !== undefined;
    if (!kind && !mutating) {
      // The path is the client's: quoted and cut, so a 10 KB path does not come back as a 10 KB answer.
      const shown = JSON.stringify(path.length > 100 ? `${path.slice(0, 100)}…` : path);
      throw new HttpError(404, `no webhook at ${shown}; lagscale serves ${served.join(", ")}`, hasBody(req));
    }
    if (req.method !== "POST") {
      sendText(res, 405, `${path} accepts POST only, got ${req.method ?? ""}`, {
        allow: "POST",
        ...(hasBody(req) ? { connection: "close" } : {}),
      });
      return;
    }
    const contentType = req.headers["content-type"];
    if (!isJsonContentType(contentType)) {
      throw new HttpError(
        400,
        `Content-Type must be application/json, got ${JSON.stringify(contentType ?? "")}`,
        true,
      );
    }
    const body = (await readBody(req, MAX_BODY_BYTES)).toString("utf8");
    const parsed = parseAdmissionReview(body);
    if (!parsed.ok) {
      sendText(res, 400, `not a valid AdmissionReview: ${parsed.message}`);
      return;
    }
    const request = parsed.request;
    if (!kind) {
      const verdict = await mutate(request, inject!);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(admissionResponse(request.uid, verdict)));
      return;
    }
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

  const limits = options.limits ?? DEFAULT_LIMITS;
  const ctx = { name: "webhook", logger };
  const tls = new TlsFiles(
    { certFile: options.certFile, keyFile: options.keyFile },
    { ...ctx, checkIntervalMs: options.certCheckIntervalMs },
  );
  const server: Server = createServer({ ...serverOptions(limits), ...tls.read() }, guard(handle, ctx));
  hardenServer(server, limits, ctx);
  const stopReload = tls.reloadOnChange(server);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, paths: served }, "webhook server listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        stopReload();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
