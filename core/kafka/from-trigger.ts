/** From a parsed kafka trigger (core/triggers) to the reader's request. */
import type { KafkaAwsAuthorization, KafkaTriggerMetadata } from "../triggers/kafka.js";
import type { AwsCredentialSource, KafkaConnection, LagRequest, SaslMechanism } from "./types.js";

export type LagRequestResult = { ok: true; request: LagRequest } | { ok: false; error: string };

const MECHANISMS: Record<string, SaslMechanism> = {
  plaintext: "plain",
  scram_sha256: "scram-sha-256",
  scram_sha512: "scram-sha-512",
};

/** How to reach the trigger's cluster, or why lagscale's Kafka client cannot. */
export function kafkaConnection(
  meta: KafkaTriggerMetadata,
): { ok: true; connection: KafkaConnection } | { ok: false; error: string } {
  let sasl: KafkaConnection["sasl"];
  const s = meta.sasl;
  if (s.mechanism === "plaintext" || s.mechanism === "scram_sha256" || s.mechanism === "scram_sha512") {
    sasl = { mechanism: MECHANISMS[s.mechanism]!, username: s.username, password: s.password };
  } else if (s.mechanism === "oauthbearer" && s.tokenProvider === "bearer") {
    sasl = {
      mechanism: "oauthbearer",
      tokenEndpoint: s.oauthTokenEndpointUri,
      clientId: s.username,
      clientSecret: s.password,
      scopes: s.scopes.map((x) => x.trim()).filter((x) => x !== ""),
      extensions: { ...s.oauthExtensions },
    };
  } else if (s.mechanism === "oauthbearer") {
    const credentials = awsCredentialSource(s.aws);
    if (!credentials.ok) return credentials;
    sasl = { mechanism: "aws-msk-iam", region: s.awsRegion, credentials: credentials.source };
  } else if (s.mechanism !== "none") {
    return {
      ok: false,
      error: `sasl: ${s.mechanism} is not supported by lagscale's Kafka client (plaintext, scram_sha256, scram_sha512 and oauthbearer are)`,
    };
  }
  const tls = meta.tls.enabled
    ? {
        unsafeSsl: meta.tls.unsafeSsl,
        ca: meta.tls.ca,
        cert: meta.tls.cert,
        key: meta.tls.key,
        keyPassword: meta.tls.keyPassword,
      }
    : undefined;
  return { ok: true, connection: { brokers: meta.bootstrapServers, sasl, tls } };
}

/**
 * Where MSK IAM's credentials come from. KEDA's operator identity and an AWS pod identity without a role are
 * lagscale's own environment; assuming a role needs STS, which lagscale's client does not call.
 */
function awsCredentialSource(
  aws: KafkaAwsAuthorization,
): { ok: true; source: AwsCredentialSource } | { ok: false; error: string } {
  switch (aws.kind) {
    case "accessKey":
      return {
        ok: true,
        source: {
          kind: "static",
          accessKeyId: aws.accessKeyId,
          secretAccessKey: aws.secretAccessKey,
          sessionToken: aws.sessionToken,
        },
      };
    case "operatorIdentity":
      return { ok: true, source: { kind: "environment" } };
    case "podIdentity":
      if (aws.roleArn === undefined) return { ok: true, source: { kind: "environment" } };
      break;
    case "role":
      break;
  }
  return {
    ok: false,
    error:
      "saslTokenProvider: aws_msk_iam with a role to assume (awsRoleArn) is not supported by lagscale's Kafka client: " +
      "it does not call STS; give awsAccessKeyID and awsSecretAccessKey (and awsSessionToken) in the TriggerAuthentication, " +
      "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in lagscale's environment",
  };
}

/**
 * The reader request of one trigger. Log-start offsets are needed only by the `earliest` rule for partitions
 * with nothing committed, and not at all when scaleToZeroOnInvalidOffset makes those partitions 0.
 */
export function lagRequestFromTrigger(meta: KafkaTriggerMetadata): LagRequestResult {
  const c = kafkaConnection(meta);
  if (!c.ok) return c;
  return {
    ok: true,
    request: {
      cluster: c.connection,
      consumerGroup: meta.consumerGroup,
      topic: meta.topic,
      partitionLimitation: meta.topic === undefined ? undefined : meta.partitionLimitation,
      needLogStart: meta.offsetResetPolicy === "earliest" && !meta.scaleToZeroOnInvalidOffset,
    },
  };
}
