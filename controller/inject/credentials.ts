/**
 * The sidecar's Kafka credentials, as references the pod itself can hold: lagscale never reads a secret
 * value for the injection. Pure.
 *
 * The parameters are those of KEDA's kafka trigger that the sidecar understands (sasl, username, password,
 * tls, ca, cert, key, keyPassword, unsafeSsl, OAUTHBEARER's and MSK IAM's → KAFKA_* and AWS_*,
 * sidecar/config.ts), from the same sources as the trigger parser reads them (tls, sasl and
 * saslTokenProvider: metadata, then the TriggerAuthentication; unsafeSsl and awsRegion: metadata; the rest:
 * the TriggerAuthentication), a later TriggerAuthentication entry winning as in the resolver (env, then
 * configMapTargetRef, then secretTargetRef).
 *
 * - a `secretTargetRef` or `configMapTargetRef` in the pod's namespace → `valueFrom.secretKeyRef` /
 *   `configMapKeyRef`;
 * - an `env` entry → the consumer container's definition of that variable, copied (env.ts);
 * - what a pod cannot reference (a ClusterTriggerAuthentication's Secret in lagscale's namespace, Vault,
 *   a cloud secret manager, pod identity) → a problem: the pod starts without the sidecar.
 */
import type { V1Container, V1EnvVar } from "@kubernetes/client-node";
import {
  unsupportedAuthSources,
  type ScaleTrigger,
  type TriggerAuthenticationSpec,
} from "../../core/crd/index.js";
import { copyEnvVar, sourceContainer } from "./env.js";

/** Trigger parameter → the sidecar's variable. */
export const CREDENTIAL_ENV = {
  sasl: "KAFKA_SASL",
  username: "KAFKA_USERNAME",
  password: "KAFKA_PASSWORD",
  tls: "KAFKA_TLS",
  ca: "KAFKA_CA",
  cert: "KAFKA_CERT",
  key: "KAFKA_KEY",
  keyPassword: "KAFKA_KEY_PASSWORD",
  unsafeSsl: "KAFKA_UNSAFE_SSL",
  saslTokenProvider: "KAFKA_SASL_TOKEN_PROVIDER",
  oauthTokenEndpointUri: "KAFKA_OAUTH_TOKEN_ENDPOINT_URI",
  scopes: "KAFKA_SCOPES",
  oauthExtensions: "KAFKA_OAUTH_EXTENSIONS",
  awsRegion: "KAFKA_AWS_REGION",
  // MSK IAM signs with the sidecar's own AWS credentials, read from the usual variables.
  awsAccessKeyID: "AWS_ACCESS_KEY_ID",
  awsSecretAccessKey: "AWS_SECRET_ACCESS_KEY",
  awsSessionToken: "AWS_SESSION_TOKEN",
} as const;
type Param = keyof typeof CREDENTIAL_ENV;

const FROM_METADATA: readonly Param[] = ["tls", "sasl", "saslTokenProvider", "unsafeSsl", "awsRegion"];
/** Parameters a TriggerAuthentication may set (unsafeSsl is metadata only, as in KEDA). */
const FROM_AUTH: readonly Param[] = [
  "sasl",
  "username",
  "password",
  "tls",
  "ca",
  "cert",
  "key",
  "keyPassword",
  "saslTokenProvider",
  "oauthTokenEndpointUri",
  "scopes",
  "oauthExtensions",
  "awsAccessKeyID",
  "awsSecretAccessKey",
  "awsSessionToken",
];
/** SASL mechanisms of KEDA the sidecar's Kafka client does not speak. */
const SIDECAR_UNSUPPORTED_SASL = ["gssapi"];

/** The TriggerAuthentication as looked up for the trigger's authenticationRef. */
export interface AuthLookup {
  kind: "TriggerAuthentication" | "ClusterTriggerAuthentication";
  name: string;
  /** undefined: it does not exist. */
  spec: TriggerAuthenticationSpec | undefined;
}

export interface CredentialInput {
  trigger: ScaleTrigger;
  auth?: AuthLookup;
  podNamespace: string;
  /** Where ClusterTriggerAuthentications read Secrets (lagscale's namespace); undefined when unknown. */
  clusterObjectNamespace: string | undefined;
  containers: readonly V1Container[];
}

export type Credentials = { ok: true; env: V1EnvVar[] } | { ok: false; problems: string[] };

export function credentialEnv(input: CredentialInput): Credentials {
  const problems: string[] = [];
  const out = new Map<Param, V1EnvVar>();
  const meta = input.trigger.metadata;
  for (const p of FROM_METADATA) {
    const v = meta[p]?.trim();
    if (v) out.set(p, { name: CREDENTIAL_ENV[p], value: v });
  }

  const auth = input.auth;
  if (auth) {
    const ta = `${auth.kind} ${auth.kind === "TriggerAuthentication" ? `${input.podNamespace}/` : ""}${auth.name}`;
    if (!auth.spec)
      return { ok: false, problems: [`${ta} (the trigger's authenticationRef) does not exist`] };
    const spec = auth.spec;
    for (const u of unsupportedAuthSources(spec)) {
      problems.push(`${ta}: ${u.message}; a pod cannot reference it either (docs/injection.md)`);
    }
    const objectNamespace =
      auth.kind === "ClusterTriggerAuthentication" ? input.clusterObjectNamespace : input.podNamespace;
    // Each parameter's winning entry only is turned into a reference: an earlier, broken entry that a
    // later one replaces is no problem (the resolver reads them the same way).
    const fromAuth = new Map<Param, () => V1EnvVar | undefined>();
    const relevant = (parameter: string): parameter is Param =>
      (FROM_AUTH as readonly string[]).includes(parameter) &&
      !((FROM_METADATA as readonly string[]).includes(parameter) && out.has(parameter as Param));

    for (const [i, e] of (spec.env ?? []).entries()) {
      if (!relevant(e.parameter)) continue;
      const envName = CREDENTIAL_ENV[e.parameter];
      fromAuth.set(e.parameter, () => {
        const c = sourceContainer(input.containers, e.containerName);
        const copied = c.ok
          ? copyEnvVar(c.container, e.name, envName)
          : { ok: false as const, problem: c.problem };
        if (copied.ok) return copied.env;
        problems.push(`${ta} spec.env[${i}] (parameter ${e.parameter}): ${copied.problem}`);
        return undefined;
      });
    }
    const refs = [
      ["configMapTargetRef", "ConfigMap", spec.configMapTargetRef ?? []],
      ["secretTargetRef", "Secret", spec.secretTargetRef ?? []],
    ] as const;
    for (const [field, kind, entries] of refs) {
      for (const [i, e] of entries.entries()) {
        if (!relevant(e.parameter)) continue;
        const envName = CREDENTIAL_ENV[e.parameter];
        const where = `${ta} spec.${field}[${i}] (parameter ${e.parameter})`;
        fromAuth.set(e.parameter, () => {
          if (objectNamespace === undefined) {
            problems.push(
              `${where}: lagscale's own namespace, where it reads ${kind}s, is unknown (set POD_NAMESPACE)`,
            );
            return undefined;
          }
          if (objectNamespace !== input.podNamespace) {
            problems.push(
              `${where}: ${kind} ${objectNamespace}/${e.name} is in another namespace than the pod (${input.podNamespace}), and a pod can only reference its own namespace's: copy it into ${input.podNamespace} and use a TriggerAuthentication there (docs/injection.md)`,
            );
            return undefined;
          }
          const ref = { name: e.name, key: e.key };
          return {
            name: envName,
            valueFrom: kind === "Secret" ? { secretKeyRef: ref } : { configMapKeyRef: ref },
          };
        });
      }
    }
    for (const [p, make] of fromAuth) {
      const v = make();
      if (v) out.set(p, v);
    }
  }

  const sasl = out.get("sasl");
  if (sasl?.value !== undefined && SIDECAR_UNSUPPORTED_SASL.includes(sasl.value.trim())) {
    problems.push(
      `sasl ${sasl.value.trim()}: the sidecar's Kafka client speaks none, plaintext, scram_sha256, scram_sha512 and oauthbearer only`,
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  // The variables in the sidecar's order of CREDENTIAL_ENV, so a second injection gives the same spec.
  const env = (Object.keys(CREDENTIAL_ENV) as Param[]).flatMap((p) => {
    const v = out.get(p);
    return v ? [v] : [];
  });
  return { ok: true, env };
}
