/**
 * Who sent a report: the bearer token is the pod's projected ServiceAccount token for lagscale's own
 * audience, checked by the API server through a TokenReview (authentication.k8s.io/v1). The review's extra
 * claims name the pod the token is bound to; the receiver compares them with the pod the report speaks for.
 *
 * Answers are cached briefly by the SHA-256 of the token (never the token itself): a pod pushing every
 * second costs one TokenReview per cache period, and a flood of one forged token costs one review.
 */
import { createHash } from "node:crypto";
import type { KubeRest } from "../kube/index.js";

/** The audience a sidecar's projected token must carry: a token for the API server is not accepted. */
export const REPORTS_AUDIENCE = "lagscale.io/reports";

const POD_NAME_CLAIM = "authentication.kubernetes.io/pod-name";
const POD_UID_CLAIM = "authentication.kubernetes.io/pod-uid";

/** What a TokenReview answered, as far as the receiver reads it. */
export interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
}

/** Sends one TokenReview; the only I/O of authentication. */
export interface TokenReviewer {
  review(token: string, audiences: readonly string[]): Promise<TokenReviewStatus>;
}

export class ApiTokenReviewer implements TokenReviewer {
  constructor(private readonly rest: KubeRest) {}

  async review(token: string, audiences: readonly string[]): Promise<TokenReviewStatus> {
    const res = await this.rest.post<{ status?: TokenReviewStatus }>(
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token, audiences: [...audiences] },
      },
    );
    return res.status ?? {};
  }
}

/** The pod a token speaks for. */
export interface PodIdentity {
  namespace: string;
  serviceAccount: string;
  podName: string;
  podUid: string;
}

export type AuthResult = { ok: true; identity: PodIdentity } | { ok: false; reason: string };

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

/** Reads a TokenReview's answer: authenticated, for our audience, a ServiceAccount token bound to a pod. */
export function identityFromReview(status: TokenReviewStatus, audience = REPORTS_AUDIENCE): AuthResult {
  if (status.authenticated !== true) {
    return { ok: false, reason: `the token was not accepted: ${status.error || "authentication failed"}` };
  }
  if (!(status.audiences ?? []).includes(audience)) {
    return { ok: false, reason: `the token is not for the audience ${audience}` };
  }
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(status.user?.username ?? "");
  if (!m) return { ok: false, reason: "the token is not a ServiceAccount token" };
  const podName = status.user?.extra?.[POD_NAME_CLAIM]?.[0];
  const podUid = status.user?.extra?.[POD_UID_CLAIM]?.[0];
  if (!podName || !podUid) {
    return { ok: false, reason: "the token is not bound to a pod (use a projected serviceAccountToken)" };
  }
  return { ok: true, identity: { namespace: m[1]!, serviceAccount: m[2]!, podName, podUid } };
}

export interface AuthenticatorOptions {
  reviewer: TokenReviewer;
  audience?: string;
  /** How long an answer is reused. Default 10 s. */
  cacheMs?: number;
  /** Answers kept at most (oldest dropped). Default 10 000. */
  maxEntries?: number;
  now?: () => number;
}

export class ReportAuthenticator {
  private readonly cache = new Map<string, { result: AuthResult; until: number }>();
  private readonly audience: string;
  private readonly cacheMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly o: AuthenticatorOptions) {
    this.audience = o.audience ?? REPORTS_AUDIENCE;
    this.cacheMs = o.cacheMs ?? 10_000;
    this.maxEntries = o.maxEntries ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** Checks a token; a failed TokenReview request throws (the receiver answers 500, the sidecar retries). */
  async authenticate(token: string): Promise<AuthResult> {
    const key = createHash("sha256").update(token).digest("hex");
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.result;
    const result = identityFromReview(await this.o.reviewer.review(token, [this.audience]), this.audience);
    this.cache.delete(key);
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { result, until: now + this.cacheMs });
    return result;
  }
}
