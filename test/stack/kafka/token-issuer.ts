/**
 * A small OAuth 2 token endpoint for tests of `sasl: oauthbearer`: the client-credentials grant (client id and
 * secret in HTTP Basic or in the form), answering with an unsecured JWS (`alg: none`) that the local broker's
 * OAUTHBEARER listener validates with Kafka's own unsecured validator (exp, sub, and the required scope).
 * It listens on 127.0.0.1 in the test's own process; what it was asked is recorded for assertions.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface IssuedRequest {
  clientId: string;
  scopes: string[];
  at: number;
}

export interface TokenIssuerOptions {
  /** client id → secret. */
  clients: Record<string, string>;
  /** Lifetime of the tokens, in seconds (expires_in and exp). Default 300. */
  lifetimeS?: number;
}

/** An unsecured JWS as Kafka's OAuthBearerUnsecuredJws reads it: the scope claim as a list. */
export function unsecuredJws(claims: { sub: string; scopes: string[]; iat: number; exp: number }): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ alg: "none" })}.${b64({ sub: claims.sub, iat: claims.iat, exp: claims.exp, scope: claims.scopes })}.`;
}

export class TokenIssuer {
  readonly requests: IssuedRequest[] = [];
  /** Tokens are issued already expired while set: the broker must refuse them. */
  issueExpired = false;
  private server: Server | undefined;
  private lifetimeS: number;

  constructor(private readonly o: TokenIssuerOptions) {
    this.lifetimeS = o.lifetimeS ?? 300;
  }

  set lifetime(seconds: number) {
    this.lifetimeS = seconds;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error("the token issuer is not listening: call start()");
    return `http://127.0.0.1:${a.port}/oauth2/token`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.answer(req).then(({ status, body }) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async answer(req: IncomingMessage): Promise<{ status: number; body: object }> {
    let raw = "";
    for await (const chunk of req) raw += String(chunk);
    if (req.method !== "POST" || !req.url?.startsWith("/oauth2/token")) {
      return { status: 404, body: { error: "not_found" } };
    }
    const form = new URLSearchParams(raw);
    if (form.get("grant_type") !== "client_credentials") {
      return { status: 400, body: { error: "unsupported_grant_type" } };
    }
    let clientId = form.get("client_id") ?? "";
    let secret = form.get("client_secret") ?? "";
    const auth = req.headers.authorization ?? "";
    if (auth.startsWith("Basic ")) {
      const [id, pw] = Buffer.from(auth.slice(6), "base64").toString("utf8").split(":");
      clientId = decodeURIComponent(id ?? "");
      secret = decodeURIComponent(pw ?? "");
    }
    if (this.o.clients[clientId] === undefined || this.o.clients[clientId] !== secret) {
      return {
        status: 401,
        body: { error: "invalid_client", error_description: "unknown client or secret" },
      };
    }
    const scopes = (form.get("scope") ?? "").split(" ").filter((s) => s !== "");
    const now = Math.floor(Date.now() / 1000);
    this.requests.push({ clientId, scopes, at: Date.now() });
    const exp = this.issueExpired ? now - 60 : now + this.lifetimeS;
    return {
      status: 200,
      body: {
        access_token: unsecuredJws({ sub: clientId, scopes, iat: now - (this.issueExpired ? 120 : 0), exp }),
        token_type: "Bearer",
        expires_in: this.issueExpired ? 300 : this.lifetimeS,
      },
    };
  }
}
