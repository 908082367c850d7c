/** From a parsed kafka trigger (core/triggers) to the reader's request. */
import type { KafkaTriggerMetadata } from "../triggers/kafka.js";
import type { KafkaConnection, LagRequest, SaslMechanism } from "./types.js";

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
  } else if (s.mechanism !== "none") {
    const what = s.mechanism === "oauthbearer" ? `oauthbearer (${s.tokenProvider})` : s.mechanism;
    return {
      ok: false,
      error: `sasl: ${what} is not supported by lagscale's Kafka client yet (plaintext, scram_sha256 and scram_sha512 are)`,
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
