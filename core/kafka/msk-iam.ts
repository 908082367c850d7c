/**
 * KEDA's `saslTokenProvider: aws_msk_iam`: Amazon MSK's IAM authentication over SASL OAUTHBEARER. The token is
 * a SigV4-presigned `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect` (service
 * `kafka-cluster`, valid 900 s), base64url-encoded without padding: what AWS's MSK IAM signer libraries send.
 * Signing is done by AWS's own SigV4 implementation (@smithy/signature-v4); a token is made for every
 * authentication, so rotated credentials are used from the next connection on.
 *
 * Credentials: the trigger's access key (a Secret, through the TriggerAuthentication), or lagscale's own
 * environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Roles (awsRoleArn, IRSA's web
 * identity) need STS, which lagscale does not call: those are refused with a message saying so.
 */
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialSource } from "./types.js";

export const MSK_SIGNING_SERVICE = "kafka-cluster";
export const MSK_ACTION = "kafka-cluster:Connect";
export const MSK_TOKEN_EXPIRY_S = 900;
export const MSK_USER_AGENT = "lagscale-msk-iam";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The credentials to sign with, or why there are none. */
export function resolveAwsCredentials(
  source: AwsCredentialSource,
  env: Env = process.env,
): { ok: true; credentials: AwsCredentials } | { ok: false; error: string } {
  if (source.kind === "static") {
    return {
      ok: true,
      credentials: {
        accessKeyId: source.accessKeyId,
        secretAccessKey: source.secretAccessKey,
        sessionToken: source.sessionToken,
      },
    };
  }
  const accessKeyId = env["AWS_ACCESS_KEY_ID"]?.trim();
  const secretAccessKey = env["AWS_SECRET_ACCESS_KEY"]?.trim();
  if (accessKeyId && secretAccessKey) {
    const sessionToken = env["AWS_SESSION_TOKEN"]?.trim() || undefined;
    return { ok: true, credentials: { accessKeyId, secretAccessKey, sessionToken } };
  }
  if (env["AWS_WEB_IDENTITY_TOKEN_FILE"] || env["AWS_ROLE_ARN"]) {
    return {
      ok: false,
      error:
        "aws_msk_iam: lagscale's environment has a web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) but " +
        "lagscale does not call STS to exchange it; give awsAccessKeyID and awsSecretAccessKey in the TriggerAuthentication",
    };
  }
  return {
    ok: false,
    error:
      "aws_msk_iam: no AWS credentials: give awsAccessKeyID and awsSecretAccessKey in the TriggerAuthentication, " +
      "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in lagscale's environment",
  };
}

/** SHA-256 for the signer, from AWS's own Node hashing package. */
class Sha256 extends Hash {
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    super("sha256", secret);
  }
}

/** RFC 3986 query escaping, as SigV4 canonicalizes it. */
function escape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The presigned URL an MSK broker verifies. */
export async function mskPresignedUrl(
  region: string,
  credentials: AwsCredentials,
  signingDate: Date = new Date(),
): Promise<string> {
  const hostname = `kafka.${region}.amazonaws.com`;
  const signer = new SignatureV4({
    service: MSK_SIGNING_SERVICE,
    region,
    credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.presign(
    {
      method: "GET",
      protocol: "https:",
      hostname,
      path: "/",
      query: { Action: MSK_ACTION },
      headers: { host: hostname },
    },
    { expiresIn: MSK_TOKEN_EXPIRY_S, signingDate },
  );
  // The user agent is added after signing, as AWS's signers do; MSK ignores it in the signature.
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    if (typeof v === "string") query[k] = v;
  }
  query["User-Agent"] = MSK_USER_AGENT;
  const qs = Object.entries(query)
    .map(([k, v]) => `${escape(k)}=${escape(v)}`)
    .join("&");
  return `https://${hostname}/?${qs}`;
}

/** The OAUTHBEARER token: the presigned URL, base64url without padding. */
export async function mskIamToken(
  region: string,
  credentials: AwsCredentials,
  signingDate: Date = new Date(),
): Promise<string> {
  const url = await mskPresignedUrl(region, credentials, signingDate);
  return Buffer.from(url, "utf8").toString("base64url");
}

/** An AWS region name as MSK endpoints use it (us-east-1, eu-central-2, us-gov-west-1...). */
export function regionProblem(region: string): string | undefined {
  return /^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)
    ? undefined
    : `awsRegion ${JSON.stringify(region)} is not an AWS region name like us-east-1`;
}
