/**
 * The SASL OAUTHBEARER exchange (RFC 7628) as a kafkajs authentication provider, for both token kinds lagscale
 * sends: OAuth client-credentials tokens and MSK IAM's presigned URLs.
 *
 * kafkajs has an OAUTHBEARER provider of its own, but it ignores the broker's answer: when the broker rejects
 * the token it sends an error document (`{"status":"invalid_token",...}`) and waits for the client's final
 * %x01, while kafkajs goes on with its next request and reports "No brokers in the broker pool". Here the
 * answer is read, the exchange is closed as the RFC asks, and the error says what the broker said.
 */
import kafkajs, { type AuthenticationProviderArgs, type Authenticator } from "kafkajs";
import { errorText } from "../errors.js";

const SOH = "\u0001";

/** What one authentication sends: the token and its SASL extensions. */
export interface BearerToken {
  readonly value: string;
  readonly extensions?: Readonly<Record<string, string>> | undefined;
}

/** The client's first message: GS2 header, `auth=Bearer <token>`, then the extensions, each %x01-separated. */
export function initialResponse(token: BearerToken): Buffer {
  const parts = [`auth=Bearer ${token.value}`];
  for (const [k, v] of Object.entries(token.extensions ?? {})) parts.push(`${k}=${v}`);
  return Buffer.from(`n,,${SOH}${parts.join(SOH)}${SOH}${SOH}`, "utf8");
}

/**
 * Names the problems with extensions the broker would refuse (RFC 7628 §3.1: keys are ALPHA, values printable
 * ASCII and whitespace; `auth` is reserved), so a typo in `oauthExtensions` reads as such, not as a bad token.
 */
export function extensionProblems(extensions: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(extensions)) {
    if (!/^[A-Za-z]+$/.test(k))
      problems.push(`OAuth extension key ${JSON.stringify(k)} must be letters only`);
    if (k === "auth") problems.push('OAuth extension key "auth" is reserved');
    if (!/^[\x21-\x7e \t\r\n]*$/.test(v)) {
      problems.push(`OAuth extension ${k}: the value must be printable ASCII`);
    }
  }
  return problems;
}

/** A broker's error document, shortened to what a person needs: `invalid_token (scope: kafka)`. */
export function describeRejection(challenge: Buffer): string {
  const text = challenge.toString("utf8");
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const status = typeof doc["status"] === "string" ? doc["status"] : "rejected";
    const scope = typeof doc["scope"] === "string" ? ` (required scope: ${doc["scope"]})` : "";
    return `${status}${scope}`;
  } catch {
    return text.slice(0, 200);
  }
}

/** Kafka's SASL bytes travel length-prefixed inside SaslAuthenticate (kafkajs unwraps one level). */
function lengthPrefixed(bytes: Buffer): Buffer {
  const out = Buffer.alloc(4 + bytes.length);
  out.writeInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

const rawResponse = {
  decode: (raw: Buffer): Buffer => {
    const n = raw.length >= 4 ? raw.readInt32BE(0) : -1;
    return n > 0 ? raw.subarray(4, 4 + n) : Buffer.alloc(0);
  },
  parse: (b: Buffer): Buffer => b,
};

/**
 * kafkajs's own authentication error: kafkajs does not retry it, and the readers report it as it is. Its
 * type declaration omits the message argument the class takes.
 */
function saslError(message: string): Error {
  const Err = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
  return new Err(message);
}

export interface OAuthBearerProviderOptions {
  /** Called once per authentication (a new connection, or a re-authentication). */
  token(): Promise<BearerToken>;
  /** The broker refused the token: a cached one should not be offered again. */
  onRejected?(): void;
  /** Names the kind of token in errors, e.g. "OAuth token from https://idp/token". */
  describe: string;
}

/** A kafkajs `sasl` value: `{ mechanism: "oauthbearer", authenticationProvider }`. */
export function oauthBearerMechanism(o: OAuthBearerProviderOptions): {
  mechanism: string;
  authenticationProvider: (args: AuthenticationProviderArgs) => Authenticator;
} {
  return {
    mechanism: "oauthbearer",
    authenticationProvider: ({ host, port, saslAuthenticate }) => ({
      authenticate: async () => {
        const broker = `${host}:${port}`;
        let token: BearerToken;
        try {
          token = await o.token();
        } catch (error) {
          throw saslError(`SASL OAUTHBEARER: could not get the ${o.describe}: ${errorText(error)}`);
        }
        const challenge = await saslAuthenticate<Buffer>({
          request: { encode: () => Promise.resolve(lengthPrefixed(initialResponse(token))) },
          response: rawResponse,
        });
        if (!challenge || challenge.length === 0) return;
        // The broker refused: close the exchange with %x01 (it then answers with an error, expected here).
        o.onRejected?.();
        await saslAuthenticate({
          request: { encode: () => Promise.resolve(lengthPrefixed(Buffer.from(SOH))) },
        }).catch(() => undefined);
        throw saslError(
          `SASL OAUTHBEARER: broker ${broker} rejected the ${o.describe}: ${describeRejection(challenge)}`,
        );
      },
    }),
  };
}
