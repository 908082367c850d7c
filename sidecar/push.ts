/**
 * Pushing reports to the controller's report endpoint.
 *
 * The pusher holds at most one report: a newer one replaces the one waiting, so after an outage the
 * controller gets the pod's present, not its history. A failed push is retried after a backoff
 * (sidecar/timing.ts) unless a newer report came meanwhile; an urgent report cuts a backoff short, except
 * after a refusal (400/401/403), whose reason is logged at warn. The token is read from its file at every
 * push, since the kubelet rotates projected tokens. Nothing here throws to the caller.
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { Logger } from "../core/log.js";
import type { SidecarReport } from "../core/reports/schema.js";
import { backoffMs, failureKind, type FailureKind } from "./timing.js";
import { errorText } from "../core/errors.js";

export interface PostResult {
  /** The HTTP status, or 0 when no answer came (network error, timeout). */
  readonly status: number;
  /** The answer's body (first KiB), or the network error. */
  readonly text: string;
}

/** The one I/O of the pusher: one POST of a JSON body with a bearer token. */
export type PostReport = (body: string, token: string) => Promise<PostResult>;

const MAX_REASON = 1024;

/** A POST over node:http(s), with an optional CA for the controller's serving certificate. */
export function httpPoster(url: URL, ca: string | undefined, timeoutMs: number): PostReport {
  const client = url.protocol === "https:" ? https : http;
  const agent =
    url.protocol === "https:"
      ? new https.Agent({ keepAlive: true, maxSockets: 1, ...(ca !== undefined ? { ca } : {}) })
      : new http.Agent({ keepAlive: true, maxSockets: 1 });
  return (body, token) =>
    new Promise<PostResult>((resolve) => {
      const req = client.request(
        url,
        {
          method: "POST",
          agent,
          timeout: timeoutMs,
          headers: {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(body),
            Authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (text.length < MAX_REASON) text += chunk;
          });
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: text.slice(0, MAX_REASON).trim() }),
          );
          res.on("error", (err) => resolve({ status: 0, text: err.message }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (err) => resolve({ status: 0, text: err.message }));
      req.end(body);
    });
}

export interface PushOutcome {
  readonly report: SidecarReport;
  readonly status: number;
  readonly ok: boolean;
}

export interface PusherOptions {
  readonly post: PostReport;
  readonly readToken: () => Promise<string>;
  readonly logger: Logger;
  /** Called after every attempt: metrics. */
  readonly onOutcome?: (outcome: PushOutcome) => void;
  readonly random?: () => number;
}

export function tokenFromFile(file: string): () => Promise<string> {
  return async () => {
    const token = (await readFile(file, "utf8")).trim();
    if (token === "") throw new Error(`the token file ${file} is empty`);
    return token;
  };
}

export class ReportPusher {
  private pending: SidecarReport | undefined;
  private pendingUrgent = false;
  private wake: (() => void) | undefined;
  private stopped = false;
  private failures = 0;
  private lastFailure: FailureKind | undefined;
  private lastSuccessAt: number | undefined;
  private readonly done: Promise<void>;

  constructor(private readonly options: PusherOptions) {
    this.done = this.run();
  }

  /** Hands over the newest report; an urgent one cuts a backoff short (not after a refusal). */
  offer(report: SidecarReport, urgent: boolean): void {
    this.pending = report;
    this.pendingUrgent ||= urgent;
    if (urgent && this.lastFailure === "refused") return;
    if (this.lastFailure === undefined || urgent) this.wake?.();
  }

  /** Epoch ms of the last report the controller accepted. */
  lastAccepted(): number | undefined {
    return this.lastSuccessAt;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.done;
  }

  private wait(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(finish, ms);
      this.wake = finish;
    });
  }

  private async run(): Promise<void> {
    const random = this.options.random ?? Math.random;
    const log = this.options.logger;
    while (!this.stopped) {
      if (this.pending === undefined) {
        await this.wait(undefined);
        continue;
      }
      const report = this.pending;
      this.pending = undefined;
      this.pendingUrgent = false;
      let result: PostResult;
      try {
        const token = await this.options.readToken();
        result = await this.options.post(JSON.stringify(report), token);
      } catch (err) {
        result = { status: 0, text: `cannot read the ServiceAccount token: ${errorText(err)}` };
      }
      const kind = result.status === 0 ? "error" : failureKind(result.status);
      this.options.onOutcome?.({ report, status: result.status, ok: kind === undefined });
      if (kind === undefined) {
        if (this.failures > 0) log.info({ failures: this.failures }, "reports accepted again");
        this.failures = 0;
        this.lastFailure = undefined;
        this.lastSuccessAt = Date.now();
        continue;
      }
      this.failures++;
      this.lastFailure = kind;
      // Keep the failed report for the retry unless a newer one arrived meanwhile.
      this.pending ??= report;
      const delay = backoffMs(kind, this.failures, random());
      const context = {
        status: result.status,
        reason: result.text,
        failures: this.failures,
        retryInMs: delay,
      };
      if (kind === "refused") log.warn(context, "the controller refused the report");
      else if (kind === "unavailable")
        log.debug(context, "the controller is not ready for reports (not the leader)");
      else if (this.failures === 1 || this.failures % 10 === 0) log.warn(context, "cannot push the report");
      await this.wait(delay);
    }
  }
}
