/**
 * The `kafka` trigger's parameters (keda-semantics.md §1.2 and §1.3), read as KEDA's kafka scaler reads
 * them, with every problem reported at once instead of KEDA's first-failure for cross-field rules.
 */
import { createHash } from "node:crypto";
import { checkKafkaVersion, DEFAULT_KAFKA_VERSION } from "./kafka-versions.js";
import {
  metricNameWithIndex,
  normalizeMetricNamePart,
  cutValue,
  ParamReader,
  quoteValue,
  type ParamSource,
  type ParseResult,
  type TriggerParamsInput,
} from "./params.js";

export type KafkaOffsetResetPolicy = "latest" | "earliest";

export const KAFKA_SASL_TYPES = [
  "none",
  "plaintext",
  "scram_sha256",
  "scram_sha512",
  "oauthbearer",
  "gssapi",
] as const;
export type KafkaSaslType = (typeof KAFKA_SASL_TYPES)[number];
export const KAFKA_SASL_TOKEN_PROVIDERS = ["bearer", "aws_msk_iam"] as const;
export type KafkaSaslTokenProvider = (typeof KAFKA_SASL_TOKEN_PROVIDERS)[number];

export interface KafkaTlsSettings {
  /** `tls: enable`. When false the other fields are still carried but unused. */
  enabled: boolean;
  /** `unsafeSsl`: skip verifying the brokers' certificates. */
  unsafeSsl: boolean;
  /** PEM CA bundle; absent means the system roots. */
  ca?: string;
  /** PEM client certificate and key (given together or not at all), and the key's passphrase. */
  cert?: string;
  key?: string;
  keyPassword?: string;
}

/** AWS credentials for MSK IAM, as KEDA's AWS helper picks them (pod identity, role, or keys). */
export type KafkaAwsAuthorization =
  | { kind: "podIdentity"; roleArn?: string }
  | { kind: "operatorIdentity" }
  | { kind: "role"; roleArn: string }
  | { kind: "accessKey"; accessKeyId: string; secretAccessKey: string; sessionToken?: string };

export type KafkaSaslSettings =
  | { mechanism: "none" }
  | { mechanism: "plaintext" | "scram_sha256" | "scram_sha512"; username: string; password: string }
  | {
      mechanism: "oauthbearer";
      tokenProvider: "bearer";
      username: string;
      password: string;
      oauthTokenEndpointUri: string;
      scopes: string[];
      oauthExtensions: Record<string, string>;
    }
  | { mechanism: "oauthbearer"; tokenProvider: "aws_msk_iam"; awsRegion: string; aws: KafkaAwsAuthorization }
  | {
      mechanism: "gssapi";
      username: string;
      password?: string;
      keytab?: string;
      realm: string;
      kerberosConfig: string;
      kerberosServiceName?: string;
      kerberosDisableFAST: boolean;
    };

/** A kafka trigger's parameters, typed, with KEDA's parameter names and defaults. */
export interface KafkaTriggerMetadata {
  bootstrapServers: string[];
  consumerGroup: string;
  /** Absent: the topics the consumer group has committed offsets for (§1.5). */
  topic?: string;
  lagThreshold: number;
  activationLagThreshold: number;
  offsetResetPolicy: KafkaOffsetResetPolicy;
  allowIdleConsumers: boolean;
  excludePersistentLag: boolean;
  scaleToZeroOnInvalidOffset: boolean;
  limitToPartitionsWithLag: boolean;
  ensureEvenDistributionOfPartitions: boolean;
  /** Partition ids to consider; absent means all (always absent when `topic` is). */
  partitionLimitation?: number[];
  /** Kafka version, canonical form (`1.0.0` by default). lagscale's client negotiates versions itself. */
  version: string;
  fullMetadata: boolean;
  tls: KafkaTlsSettings;
  sasl: KafkaSaslSettings;
}

/** Extra inputs besides the three parameter maps: the TriggerAuthentication's podIdentity, if any. */
export interface KafkaTriggerInput extends TriggerParamsInput {
  podIdentity?: { provider: string; roleArn?: string };
}

const META: readonly ParamSource[] = ["triggerMetadata"];
const META_ENV: readonly ParamSource[] = ["triggerMetadata", "resolvedEnv"];
const META_AUTH: readonly ParamSource[] = ["triggerMetadata", "authParams"];
const AUTH: readonly ParamSource[] = ["authParams"];

/** Kafka's limit on a topic name. */
export const MAX_TOPIC_LENGTH = 249;
/** Kafka's protocol strings carry an int16 length, so no group id is longer. */
export const MAX_GROUP_ID_BYTES = 32_767;

/**
 * Upper bound on the partition ids partitionLimitation may name in total (ranges expanded, repeats
 * counted). A Kafka topic with more than a few thousand partitions is rare; with at most 100 triggers
 * per object, one object holds at most a million ids (8 MB). The ids are counted before any is
 * allocated, so a list of huge ranges costs only its parsing.
 */
export const MAX_PARTITION_IDS = 10_000;

/**
 * KEDA's partitionLimitation (ParseInt32List): comma list of int32 ids and inclusive `a-b` ranges, parts
 * trimmed; a reversed range adds nothing. Returns the ids or KEDA's error message. Every part is read
 * as numbers first, and the ids are expanded only when their total is within MAX_PARTITION_IDS.
 */
export function parsePartitionLimitation(
  s: string,
): { ok: true; value: number[] } | { ok: false; message: string } {
  const int32 = (v: string): number | undefined => {
    if (!/^[+-]?[0-9]{1,11}$/.test(v)) return undefined;
    const n = Number.parseInt(v, 10);
    return n >= -(2 ** 31) && n <= 2 ** 31 - 1 ? n : undefined;
  };
  const ranges: [number, number][] = [];
  let total = 0;
  let from = 0;
  // Scanned part by part (no split of the whole string), stopping at the first bad part or at the cap.
  while (from <= s.length) {
    const comma = s.indexOf(",", from);
    const stop = comma === -1 ? s.length : comma;
    const part = s.slice(from, stop).trim();
    from = stop + 1;
    let start: number | undefined;
    let end: number | undefined;
    if (part.includes("-")) {
      const ends = part.split("-");
      if (ends.length !== 2)
        return { ok: false, message: `invalid partition limitation range: ${cutValue(part)}` };
      start = int32(ends[0]!.trim());
      end = int32(ends[1]!.trim());
    } else {
      start = end = int32(part);
    }
    if (start === undefined || end === undefined) {
      return { ok: false, message: `invalid partition limitation: ${cutValue(part)}` };
    }
    if (end >= start) total += end - start + 1;
    if (total > MAX_PARTITION_IDS) {
      return {
        ok: false,
        message: `invalid partition limitation: it names more than ${MAX_PARTITION_IDS} partition ids in total; list the partitions the topic has (e.g. 0-11)`,
      };
    }
    if (end >= start) ranges.push([start, end]);
  }
  const out: number[] = [];
  for (const [a, b] of ranges) for (let i = a; i <= b; i++) out.push(i);
  return { ok: true, value: out };
}

/**
 * Parses a kafka trigger. Sources per parameter follow KEDA: bootstrapServers, consumerGroup and topic
 * from metadata then `<name>FromEnv`; tls, sasl and saslTokenProvider from metadata then the
 * TriggerAuthentication (so metadata wins); credentials and certificates from the TriggerAuthentication
 * only; everything else from metadata only.
 */
export function parseKafkaTrigger(input: KafkaTriggerInput): ParseResult<KafkaTriggerMetadata> {
  const r = new ParamReader(input);

  const bootstrapServers = r.requiredList("bootstrapServers", META_ENV);
  const consumerGroup = r.requiredString("consumerGroup", META_ENV);
  const topic = r.optionalString("topic", META_ENV);
  const partitionLimitationStr = r.optionalString("partitionLimitation", META);
  const lagThreshold = r.int("lagThreshold", META, 10);
  const activationLagThreshold = r.int("activationLagThreshold", META, 0);
  const offsetResetPolicy = r.enumValue<KafkaOffsetResetPolicy>(
    "offsetResetPolicy",
    META,
    ["latest", "earliest"],
    "latest",
  );
  const allowIdleConsumers = r.bool("allowIdleConsumers", META, false);
  const excludePersistentLag = r.bool("excludePersistentLag", META, false);
  const scaleToZeroOnInvalidOffset = r.bool("scaleToZeroOnInvalidOffset", META, false);
  const limitToPartitionsWithLag = r.bool("limitToPartitionsWithLag", META, false);
  const ensureEvenDistributionOfPartitions = r.bool("ensureEvenDistributionOfPartitions", META, false);
  const fullMetadata = r.bool("fullMetadata", META, true);
  const versionStr = r.optionalString("version", META);

  const tlsMode = r.enumValue("tls", META_AUTH, ["enable", "disable"], "disable");
  const unsafeSsl = r.bool("unsafeSsl", META, false);
  const ca = r.optionalString("ca", AUTH);
  const cert = r.optionalString("cert", AUTH);
  const key = r.optionalString("key", AUTH);
  const keyPassword = r.optionalString("keyPassword", AUTH);

  const sasl = r.enumValue<KafkaSaslType>("sasl", META_AUTH, KAFKA_SASL_TYPES);
  const username = r.optionalString("username", AUTH);
  const password = r.optionalString("password", AUTH);
  const saslTokenProvider = r.enumValue<KafkaSaslTokenProvider>(
    "saslTokenProvider",
    META_AUTH,
    KAFKA_SASL_TOKEN_PROVIDERS,
  );
  const scopesStr = r.optionalString("scopes", AUTH);
  const oauthTokenEndpointUri = r.optionalString("oauthTokenEndpointUri", AUTH);
  const oauthExtensionsStr = r.optionalString("oauthExtensions", AUTH);
  const keytab = r.optionalString("keytab", AUTH);
  const realm = r.optionalString("realm", AUTH);
  const kerberosConfig = r.optionalString("kerberosConfig", AUTH);
  const kerberosServiceName = r.optionalString("kerberosServiceName", AUTH);
  const kerberosDisableFAST = r.bool("kerberosDisableFAST", AUTH, false);
  const awsRegion = r.optionalString("awsRegion", META);

  // Kafka's own limits, so a name no broker can hold is refused here rather than grown into metric names.
  if (topic !== undefined && topic.length > MAX_TOPIC_LENGTH) {
    r.error(
      "topic",
      `topic is ${topic.length} characters long; Kafka topic names have at most ${MAX_TOPIC_LENGTH}`,
    );
  }
  if (consumerGroup !== undefined && Buffer.byteLength(consumerGroup) > MAX_GROUP_ID_BYTES) {
    r.error(
      "consumerGroup",
      `consumerGroup is longer than Kafka's ${MAX_GROUP_ID_BYTES}-byte limit on a group id`,
    );
  }

  // KEDA's Validate(), every rule checked (KEDA stops at the first).
  if (lagThreshold !== undefined && lagThreshold <= 0) {
    r.error("lagThreshold", `"lagThreshold" must be positive number`);
  }
  if (activationLagThreshold !== undefined && activationLagThreshold < 0) {
    r.error("activationLagThreshold", `"activationLagThreshold" must be a non-negative number`);
  }
  let partitionLimitation: number[] | undefined;
  if (partitionLimitationStr !== undefined) {
    const parsed = parsePartitionLimitation(partitionLimitationStr);
    if (parsed.ok) partitionLimitation = parsed.value;
    else r.error("partitionLimitation", parsed.message);
  }
  if (topic === undefined) partitionLimitation = undefined;
  if (allowIdleConsumers && limitToPartitionsWithLag) {
    r.error(
      "limitToPartitionsWithLag",
      "allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously",
    );
  }
  if (topic === undefined && limitToPartitionsWithLag) {
    r.error("topic", "topic must be specified when using limitToPartitionsWithLag");
  }
  if (limitToPartitionsWithLag && ensureEvenDistributionOfPartitions) {
    r.error(
      "ensureEvenDistributionOfPartitions",
      "limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously",
    );
  }
  if (topic === undefined && ensureEvenDistributionOfPartitions) {
    r.error("topic", "topic must be specified when using ensureEvenDistributionOfPartitions");
  }
  if (!fullMetadata && topic === undefined) {
    r.error("topic", "topic must be specified when fullMetadata is false");
  }

  // TLS before SASL, so the MSK rule sees the final TLS state.
  const tlsEnabled = tlsMode === "enable";
  if (tlsEnabled) {
    if (cert !== undefined && key === undefined) r.error("key", "key must be provided with cert");
    if (key !== undefined && cert === undefined) r.error("cert", "cert must be provided with key");
  }
  // Warned whatever `tls` says here: the webhook sees the metadata only, and `tls` may come from the auth.
  if (unsafeSsl) {
    r.warnings.push(
      "unsafeSsl is true: with TLS the brokers' certificates are not verified, so anyone on the network path can pose as the cluster; give ca instead",
    );
  }
  const tls: KafkaTlsSettings = { enabled: tlsEnabled, unsafeSsl };
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (keyPassword !== undefined) tls.keyPassword = keyPassword;

  let saslSettings: KafkaSaslSettings | undefined = { mechanism: "none" };
  const requireCreds = (): { username: string; password: string } | undefined => {
    if (username === undefined) r.error("username", "no username given");
    if (password === undefined) r.error("password", "no password given");
    return username !== undefined && password !== undefined ? { username, password } : undefined;
  };
  switch (sasl) {
    case undefined:
    case "none":
      // An invalid `sasl` value was reported by the enum check; no SASL settings follow from it.
      if (r.hasFailed("sasl")) saslSettings = undefined;
      break;
    case "plaintext":
    case "scram_sha256":
    case "scram_sha512": {
      const creds = requireCreds();
      saslSettings = creds ? { mechanism: sasl, ...creds } : undefined;
      break;
    }
    case "oauthbearer": {
      const provider = saslTokenProvider ?? "bearer";
      if (r.hasFailed("saslTokenProvider")) {
        saslSettings = undefined;
      } else if (provider === "bearer") {
        const creds = requireCreds();
        if (oauthTokenEndpointUri === undefined) {
          r.error(
            "oauthTokenEndpointUri",
            "error parsing OAuth token provider configuration: no oauth token endpoint uri given",
          );
        }
        const oauthExtensions: Record<string, string> = {};
        let extensionsOk = true;
        if (oauthExtensionsStr !== undefined) {
          for (const ext of oauthExtensionsStr.split(",")) {
            const kv = ext.split("=");
            if (kv.length !== 2) {
              extensionsOk = false;
              r.error(
                "oauthExtensions",
                `error parsing OAuth token provider configuration: invalid OAuthBearer extension ${quoteValue(ext)}, must be of format key=value`,
              );
              break;
            }
            oauthExtensions[kv[0]!.trim()] = kv[1]!.trim();
          }
        }
        const scopes = (scopesStr ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "");
        saslSettings =
          creds && oauthTokenEndpointUri !== undefined && extensionsOk
            ? {
                mechanism: "oauthbearer",
                tokenProvider: "bearer",
                ...creds,
                oauthTokenEndpointUri,
                scopes,
                oauthExtensions,
              }
            : undefined;
      } else {
        let ok = true;
        if (!tlsEnabled) {
          ok = false;
          r.error(
            "tls",
            "error parsing OAuth token provider configuration: TLS is required for AWS MSK authentication",
          );
        }
        if (awsRegion === undefined) {
          ok = false;
          r.error("awsRegion", "error parsing OAuth token provider configuration: no awsRegion given");
        }
        const aws = ok ? awsAuthorization(input, r) : undefined;
        saslSettings =
          aws && awsRegion !== undefined
            ? { mechanism: "oauthbearer", tokenProvider: "aws_msk_iam", awsRegion, aws }
            : undefined;
      }
      break;
    }
    case "gssapi": {
      if (username === undefined) r.error("username", "no username given");
      if ((password === undefined) === (keytab === undefined)) {
        r.error(
          password === undefined ? "password" : "keytab",
          "exactly one of 'password' or 'keytab' must be provided for GSSAPI authentication",
        );
      }
      if (realm === undefined) r.error("realm", "no realm given");
      if (kerberosConfig === undefined) {
        r.error("kerberosConfig", "no Kerberos configuration file (kerberosConfig) given");
      }
      if (
        username !== undefined &&
        (password === undefined) !== (keytab === undefined) &&
        realm !== undefined &&
        kerberosConfig !== undefined
      ) {
        const g: KafkaSaslSettings = {
          mechanism: "gssapi",
          username,
          realm,
          kerberosConfig,
          kerberosDisableFAST,
        };
        if (password !== undefined) g.password = password;
        if (keytab !== undefined) g.keytab = keytab;
        if (kerberosServiceName !== undefined) g.kerberosServiceName = kerberosServiceName;
        saslSettings = g;
      } else {
        saslSettings = undefined;
      }
      break;
    }
  }

  let version = DEFAULT_KAFKA_VERSION;
  if (versionStr !== undefined) {
    const v = checkKafkaVersion(versionStr);
    if (!v.ok) r.error("version", v.message);
    else {
      version = v.version;
      if (!v.known) {
        r.warnings.push(
          `version ${quoteValue(versionStr)} is well-formed but not a Kafka version KEDA's client knows; accepted as KEDA does`,
        );
      }
    }
  }

  if (
    r.errors.length > 0 ||
    bootstrapServers === undefined ||
    consumerGroup === undefined ||
    lagThreshold === undefined ||
    activationLagThreshold === undefined ||
    offsetResetPolicy === undefined ||
    saslSettings === undefined
  ) {
    return { ok: false, errors: r.errors, warnings: r.warnings };
  }
  const value: KafkaTriggerMetadata = {
    bootstrapServers,
    consumerGroup,
    lagThreshold,
    activationLagThreshold,
    offsetResetPolicy,
    allowIdleConsumers,
    excludePersistentLag,
    scaleToZeroOnInvalidOffset,
    limitToPartitionsWithLag,
    ensureEvenDistributionOfPartitions,
    version,
    fullMetadata,
    tls,
    sasl: saslSettings,
  };
  if (topic !== undefined) value.topic = topic;
  if (partitionLimitation !== undefined) value.partitionLimitation = partitionLimitation;
  return { ok: true, value, warnings: r.warnings };
}

/** KEDA's GetAwsAuthorization, reduced to what decides success: which credentials are used. */
function awsAuthorization(input: KafkaTriggerInput, r: ParamReader): KafkaAwsAuthorization | undefined {
  const auth = input.authParams ?? {};
  const meta = input.metadata;
  if (input.podIdentity?.provider === "aws") {
    const roleArn = input.podIdentity.roleArn || auth["awsRoleArn"];
    return roleArn ? { kind: "podIdentity", roleArn } : { kind: "podIdentity" };
  }
  const owner = meta["identityOwner"] ?? "";
  if (owner === "operator") return { kind: "operatorIdentity" };
  if (owner !== "" && owner !== "pod") return { kind: "operatorIdentity" };
  if (auth["awsRoleArn"]) return { kind: "role", roleArn: auth["awsRoleArn"] };
  if (auth["awsAccessKeyID"] || auth["awsAccessKeyId"]) {
    const accessKeyId = (auth["awsAccessKeyID"] || auth["awsAccessKeyId"])!;
    const secretAccessKey = auth["awsSecretAccessKey"];
    if (!secretAccessKey) {
      r.error("awsSecretAccessKey", "error getting AWS authorization: awsSecretAccessKey not found");
      return undefined;
    }
    const out: KafkaAwsAuthorization = { kind: "accessKey", accessKeyId, secretAccessKey };
    if (auth["awsSessionToken"]) out.sessionToken = auth["awsSessionToken"];
    return out;
  }
  const env = input.resolvedEnv ?? {};
  const fromEnv = (k: string): string | undefined => {
    const name = meta[`${k}FromEnv`];
    return name ? env[name] : undefined;
  };
  const accessKeyId = meta["awsAccessKeyID"] || fromEnv("awsAccessKeyID");
  if (!accessKeyId) {
    r.error("awsAccessKeyID", "error getting AWS authorization: awsAccessKeyID not found");
    return undefined;
  }
  const secretAccessKey = fromEnv("awsSecretAccessKey");
  if (!secretAccessKey) {
    r.error("awsSecretAccessKey", "error getting AWS authorization: awsSecretAccessKey not found");
    return undefined;
  }
  return { kind: "accessKey", accessKeyId, secretAccessKey };
}

/**
 * What lagscale's Kafka client cannot do, for a clear error when connecting (the parameters still
 * validate as in KEDA, so a manifest is accepted and its status says why it cannot run). Undefined
 * when lagscale can connect with these settings.
 */
export function kafkaUnsupportedReason(meta: KafkaTriggerMetadata): string | undefined {
  if (meta.sasl.mechanism === "gssapi") {
    return "sasl: gssapi (Kerberos) is not supported by lagscale's Kafka client; use plaintext, scram_sha256, scram_sha512 or oauthbearer";
  }
  // oauthbearer (both token providers) is served by core/kafka; what it cannot do it says in lagRequestFromTrigger.
  return undefined;
}

/**
 * A string that is equal for two triggers exactly when one Kafka connection can serve both: the
 * brokers (order and case of host names ignored) plus a fingerprint of the TLS and SASL settings.
 * Secrets enter only through a SHA-256 digest, so the identity can be logged.
 */
export function kafkaClusterIdentity(meta: KafkaTriggerMetadata): string {
  const brokers = [
    ...new Set(meta.bootstrapServers.map((b) => b.trim().toLowerCase()).filter((b) => b !== "")),
  ].sort();
  const credentials = JSON.stringify({ tls: sortedEntries(meta.tls), sasl: sortedEntries(meta.sasl) });
  const digest = createHash("sha256").update(credentials).digest("hex").slice(0, 16);
  const user = "username" in meta.sasl ? meta.sasl.username : "";
  return `${brokers.join(",")}|tls=${meta.tls.enabled ? "on" : "off"}|sasl=${meta.sasl.mechanism}${user ? `:${user}` : ""}|${digest}`;
}

function sortedEntries(o: object): [string, unknown][] {
  return Object.entries(o)
    .map(([k, v]): [string, unknown] => [k, v !== null && typeof v === "object" ? sortedEntries(v) : v])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** KEDA's metric name for a kafka trigger: `s<i>-kafka-<topic>` or `s<i>-kafka-<group>-topics`. */
export function kafkaMetricName(meta: KafkaTriggerMetadata, triggerIndex: number): string {
  const name = meta.topic !== undefined ? `kafka-${meta.topic}` : `kafka-${meta.consumerGroup}-topics`;
  return metricNameWithIndex(triggerIndex, normalizeMetricNamePart(name));
}
