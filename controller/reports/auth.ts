/**
 * Who sent a report: the bearer token is the pod's projected ServiceAccount token for lagscale's own
 * audience, checked by the API server through a TokenReview (authentication.k8s.io/v1). The review's extra
 * claims name the pod the token is bound to; the receiver compares them with the pod the report speaks for.
 *
 * Answers are cached by the SHA-256 of the token (never the token itself): a pod pushing every second costs
 * one TokenReview per cache period. Authentication runs before any per-pod limit can apply (the pod is not
 * known yet), so what an unauthenticated client can cost is bounded here:
 * - a refused token is kept in its own bounded cache (longer: a refused token never becomes valid), so a
 *   forged token sent again costs nothing and a flood of forged tokens cannot evict the pods' answers;
 * - concurrent requests with one token share one review;
 * - TokenReviews are sent at most `reviewsPerSecond` on average (a global token bucket): past it a token
 *   not in the cache is answered 429 with Retry-After, a cached one still passes. A flood of distinct forged
 *   tokens thus costs the API server a bounded rate, and slows only the pods whose answer must be renewed.
 */
import { createHash } from "node:crypto";
import type { KubeRest } from "../kube/index.js";
import { TokenBuckets } from "./ratelimit.js";

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

export type AuthResult =
  | { ok: true; identity: PodIdentity }
  /** `retryAfterSeconds`: not checked (too many TokenReviews right now), not refused: answer 429. */
  | { ok: false; reason: string; retryAfterSeconds?: number };

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
  /** How long an accepted token's answer is reused. Default 10 s. */
  cacheMs?: number;
  /** Accepted answers kept at most (oldest dropped). Default 10 000. */
  maxEntries?: number;
  /** How long a refused token's answer is reused. Default 60 s. */
  refusedCacheMs?: number;
  /** Refused answers kept at most (oldest dropped). Default 10 000. */
  maxRefused?: number;
  /** TokenReviews sent per second on average, all tokens together. Default 100. */
  reviewsPerSecond?: number;
  /** TokenReviews sent at once before the average applies. Default 200. */
  reviewBurst?: number;
  now?: () => number;
}

type Cached = { result: AuthResult; until: number };

/** Gets a live entry, or forgets an expired one. */
function lookup(cache: Map<string, Cached>, key: string, now: number): AuthResult | undefined {
  const hit = cache.get(key);
  if (!hit) return undefined;
  if (hit.until > now) return hit.result;
  cache.delete(key);
  return undefined;
}

/** Keeps an entry, dropping the oldest when full (Map order is insertion order). */
function keep(cache: Map<string, Cached>, key: string, entry: Cached, max: number): void {
  cache.delete(key);
  if (cache.size >= max) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, entry);
}

export class ReportAuthenticator {
  private readonly accepted = new Map<string, Cached>();
  private readonly refused = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<AuthResult>>();
  private readonly reviews: TokenBuckets;
  private readonly audience: string;
  private readonly now: () => number;

  constructor(private readonly o: AuthenticatorOptions) {
    this.audience = o.audience ?? REPORTS_AUDIENCE;
    this.now = o.now ?? Date.now;
    this.reviews = new TokenBuckets({
      ratePerSecond: o.reviewsPerSecond ?? 100,
      burst: o.reviewBurst ?? 200,
      maxKeys: 1,
    });
  }

  /** Checks a token; a failed TokenReview request throws (the receiver answers 500, the sidecar retries). */
  async authenticate(token: string): Promise<AuthResult> {
    const key = createHash("sha256").update(token).digest("hex");
    const now = this.now();
    const cached = lookup(this.accepted, key, now) ?? lookup(this.refused, key, now);
    if (cached) return cached;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const budget = this.reviews.take("tokenreviews", now);
    if (!budget.ok) {
      return {
        ok: false,
        reason: "too many tokens to check right now; retry later",
        retryAfterSeconds: budget.retryAfterSeconds,
      };
    }
    const review = this.review(token, key).finally(() => this.inflight.delete(key));
    this.inflight.set(key, review);
    return review;
  }

  private async review(token: string, key: string): Promise<AuthResult> {
    const result = identityFromReview(await this.o.reviewer.review(token, [this.audience]), this.audience);
    const now = this.now();
    if (result.ok) {
      keep(
        this.accepted,
        key,
        { result, until: now + (this.o.cacheMs ?? 10_000) },
        this.o.maxEntries ?? 10_000,
      );
    } else {
      const until = now + (this.o.refusedCacheMs ?? 60_000);
      keep(this.refused, key, { result, until }, this.o.maxRefused ?? 10_000);
    }
    return result;
  }
}
