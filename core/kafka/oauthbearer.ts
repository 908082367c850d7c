/**
 * KEDA's `sasl: oauthbearer` token flow: an OAuth 2 client-credentials grant (RFC 6749 §4.4) against
 * `oauthTokenEndpointUri`, with the trigger's `username`/`password` as client id and secret and its `scopes`.
 * A token is reused until shortly before it expires (as KEDA's oauth2 token source does), so that every new
 * connection and every re-authentication the broker asks for gets a live one; a token the broker refused is
 * dropped at once.
 *
 * The answer of the token endpoint is parsed by a pure function; the HTTP call is behind `fetch`.
 */
import type { KafkaSaslOAuthBearer } from "./types.js";
import type { BearerToken } from "./sasl-oauthbearer.js";

/** Tokens are refreshed when less than this share of their lifetime is left (and at least 10 s before). */
const REFRESH_SHARE = 0.1;
const MIN_REFRESH_MARGIN_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;

export type TokenAnswer =
  { ok: true; accessToken: string; expiresInS: number | undefined } | { ok: false; error: string };

/** What the token endpoint said, as a token or an error a person can act on. */
export function parseTokenAnswer(endpoint: string, status: number, body: string): TokenAnswer {
  let doc: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      doc = parsed as Record<string, unknown>;
    }
  } catch {
    doc = undefined;
  }
  if (status < 200 || status > 299) {
    const err = doc && typeof doc["error"] === "string" ? doc["error"] : undefined;
    const desc = doc && typeof doc["error_description"] === "string" ? `: ${doc["error_description"]}` : "";
    const hint =
      err === "invalid_client" || status === 401
        ? " (check the username and password of the TriggerAuthentication: they are the client id and secret)"
        : err === "invalid_scope"
          ? " (check scopes)"
          : "";
    return {
      ok: false,
      error: `token endpoint ${endpoint} answered HTTP ${status}${err ? ` ${err}` : ""}${desc}${hint}`,
    };
  }
  if (!doc)
    return { ok: false, error: `token endpoint ${endpoint} answered with something that is not JSON` };
  const token = doc["access_token"];
  if (typeof token !== "string" || token === "") {
    return { ok: false, error: `token endpoint ${endpoint} answered without an access_token` };
  }
  const raw = doc["expires_in"];
  // Some servers send expires_in as a string; RFC 6749 says a number. Anything else: no known expiry.
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : NaN;
  return { ok: true, accessToken: token, expiresInS: Number.isFinite(n) && n > 0 ? n : undefined };
}

/** When a token that lives `lifetimeMs` from `issuedAt` should be replaced. */
export function refreshAt(issuedAt: number, lifetimeMs: number): number {
  if (!Number.isFinite(lifetimeMs)) return Infinity;
  return issuedAt + lifetimeMs - Math.max(MIN_REFRESH_MARGIN_MS, lifetimeMs * REFRESH_SHARE);
}

/** The form body and headers of a client-credentials request; the secret goes in HTTP Basic (RFC 6749 §2.3.1). */
export function tokenRequest(c: KafkaSaslOAuthBearer): { headers: Record<string, string>; body: string } {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (c.scopes.length > 0) form.set("scope", c.scopes.join(" "));
  const basic = `${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`;
  return {
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
      authorization: `Basic ${Buffer.from(basic).toString("base64")}`,
    },
    body: form.toString(),
  };
}

export type Fetch = (url: string, init: RequestInit) => Promise<{ status: number; text(): Promise<string> }>;

export interface TokenSourceOptions {
  fetch?: Fetch;
  now?: () => number;
}

/** One cached token per set of client credentials. */
export class ClientCredentialsTokenSource {
  private cached: { value: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  private readonly fetch: Fetch;
  private readonly now: () => number;

  constructor(
    private readonly c: KafkaSaslOAuthBearer,
    o: TokenSourceOptions = {},
  ) {
    this.fetch = o.fetch ?? ((url, init) => fetch(url, init));
    this.now = o.now ?? Date.now;
  }

  /** A live token with the trigger's extensions; fetches one when none is cached or it is about to expire. */
  async token(): Promise<BearerToken> {
    if (this.cached && this.now() < this.cached.refreshAt) {
      return { value: this.cached.value, extensions: this.c.extensions };
    }
    // Connections opened together share one request to the endpoint.
    this.inflight ??= this.request().finally(() => (this.inflight = undefined));
    return { value: await this.inflight, extensions: this.c.extensions };
  }

  /** The broker refused the cached token (revoked, or its scopes changed): ask for a new one next time. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async request(): Promise<string> {
    const { headers, body } = tokenRequest(this.c);
    const issuedAt = this.now();
    let status: number;
    let text: string;
    try {
      const res = await this.fetch(this.c.tokenEndpoint, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.status;
      text = await res.text();
    } catch (error) {
      const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : undefined;
      throw new Error(
        `token endpoint ${this.c.tokenEndpoint} could not be reached: ${cause?.message ?? String(error)}`,
        { cause: error },
      );
    }
    const answer = parseTokenAnswer(this.c.tokenEndpoint, status, text);
    if (!answer.ok) throw new Error(answer.error);
    // Without expires_in the token is kept until the broker refuses it (the oauth2 library's rule).
    const lifetimeMs = answer.expiresInS === undefined ? Infinity : answer.expiresInS * 1000;
    this.cached = { value: answer.accessToken, refreshAt: refreshAt(issuedAt, lifetimeMs) };
    return answer.accessToken;
  }
}

/**
 * Token sources by connection key, so that the reconnects of one cluster connection reuse the token. Bounded:
 * the oldest source goes when credentials keep changing (each change is a new key).
 */
export class TokenSources {
  private readonly sources = new Map<string, ClientCredentialsTokenSource>();

  constructor(
    private readonly max = 64,
    private readonly options: TokenSourceOptions = {},
  ) {}

  get(key: string, c: KafkaSaslOAuthBearer): ClientCredentialsTokenSource {
    let s = this.sources.get(key);
    if (!s) {
      s = new ClientCredentialsTokenSource(c, this.options);
      this.sources.set(key, s);
      if (this.sources.size > this.max) this.sources.delete(this.sources.keys().next().value!);
    }
    return s;
  }
}
