/**
 * A small JSON client for the Kubernetes REST API: one `request` with the verbs on top, errors that name the
 * request and carry the API server's Status (code, reason, message), and a keep-alive connection pool. It
 * takes credentials from a client-node `KubeConfig` on every request, so rotating tokens (in-cluster, exec
 * plugins) keep working.
 *
 * Objects travel as the API server sends them (timestamps are strings); nothing is converted.
 */
import http from "node:http";
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

export type PatchType = "merge" | "json" | "strategic";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** Per-request timeout; default from the client (30 s). */
  timeoutMs?: number;
}

/** An error answer from the API server: the request, the HTTP code and the Status reason and message. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status code, e.g. 404, 409, 410, 422. */
    readonly code: number,
    /** Status reason, e.g. NotFound, Conflict, AlreadyExists, Invalid, Expired; "" when the body had none. */
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`${method} ${path}: ${code}${reason ? ` ${reason}` : ""}: ${detail}`);
  }
}

export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.code : undefined;
}
export const isNotFound = (err: unknown): boolean => apiErrorCode(err) === 404;
export const isConflict = (err: unknown): boolean =>
  err instanceof KubeApiError && err.code === 409 && err.reason !== "AlreadyExists";
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.code === 409 && err.reason === "AlreadyExists";

/**
 * The kubeconfig to use: the given file, else KUBECONFIG / ~/.kube/config / the in-cluster service account
 * (client-node's default order).
 */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new Error(`kubeconfig ${file ?? "(default)"} has no current cluster`);
  }
  return kc;
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
}

export class KubeRest {
  readonly server: string;
  private readonly timeoutMs: number;
  private agent: { fingerprint: string; agent: http.Agent } | undefined;

  constructor(
    readonly kubeConfig: KubeConfig,
    options: { timeoutMs?: number } = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("GET", path, { query });
  }
  post<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.request<T>("POST", path, { body, query });
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, { body });
  }
  patch<T>(path: string, body: unknown, type: PatchType = "merge"): Promise<T> {
    return this.request<T>("PATCH", path, { body, contentType: PATCH_CONTENT_TYPES[type] });
  }
  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>("DELETE", path, { query });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const opts: https.RequestOptions = { method, headers: { Accept: "application/json" } };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    opts.agent = this.agentFor(opts, url.protocol);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers = opts.headers as http.OutgoingHttpHeaders;
    if (payload !== undefined) {
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = Buffer.byteLength(payload);
    }
    const label = `${method} ${path}`;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const send = url.protocol === "http:" ? http.request : https.request;
      const req = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", (err) => reject(new Error(`${label}: ${err.message}`, { cause: err })));
      });
      req.setTimeout(options.timeoutMs ?? this.timeoutMs, () =>
        req.destroy(new Error(`timed out after ${options.timeoutMs ?? this.timeoutMs} ms`)),
      );
      req.on("error", (err) => reject(new Error(`${label}: ${err.message}`, { cause: err })));
      req.end(payload);
    });
    if (status >= 200 && status < 300) {
      return (text ? JSON.parse(text) : undefined) as T;
    }
    let body: StatusBody = {};
    try {
      body = JSON.parse(text) as StatusBody;
    } catch {
      // not a Status object: keep the raw text as the detail
    }
    throw new KubeApiError(
      method,
      path,
      status,
      body.reason ?? "",
      body.message ?? (text.slice(0, 300) || "no body"),
    );
  }

  /** One keep-alive pool per TLS identity; rebuilt when the kubeconfig's certificates change. */
  private agentFor(opts: https.RequestOptions, protocol: string): http.Agent {
    const fingerprint = [protocol, opts.ca, opts.cert, opts.key, opts.servername, opts.rejectUnauthorized]
      .map((v) => String(v))
      .join("\u0000");
    if (this.agent?.fingerprint !== fingerprint) {
      this.agent?.agent.destroy();
      const agent =
        protocol === "http:"
          ? new http.Agent({ keepAlive: true })
          : new https.Agent({
              keepAlive: true,
              ca: opts.ca,
              cert: opts.cert,
              key: opts.key,
              servername: opts.servername,
              ...(opts.rejectUnauthorized === undefined
                ? {}
                : { rejectUnauthorized: opts.rejectUnauthorized }),
            });
      this.agent = { fingerprint, agent };
    }
    return this.agent.agent;
  }

  /** Closes pooled connections (idle ones at once). */
  close(): void {
    this.agent?.agent.destroy();
    this.agent = undefined;
  }
}
