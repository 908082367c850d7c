import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Container } from "@kubernetes/client-node";
import type { TriggerAuthenticationSpec } from "../../core/crd/index.js";
import { credentialEnv, type AuthLookup, type Credentials } from "./credentials.js";
import { copyEnvVar } from "./env.js";

const containers: V1Container[] = [
  {
    name: "consumer",
    env: [
      { name: "KAFKA_USER", value: "orders" },
      { name: "KAFKA_PASS", valueFrom: { secretKeyRef: { name: "kafka-user", key: "password" } } },
      { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory" } } },
    ],
  },
  { name: "other", envFrom: [{ secretRef: { name: "bulk" } }] },
];

const TA = (spec: TriggerAuthenticationSpec | undefined): AuthLookup => ({
  kind: "TriggerAuthentication",
  name: "kafka-auth",
  spec,
});
const CTA = (spec: TriggerAuthenticationSpec): AuthLookup => ({
  kind: "ClusterTriggerAuthentication",
  name: "shared",
  spec,
});

function creds(
  metadata: Record<string, string>,
  auth?: AuthLookup,
  clusterObjectNamespace = "lagscale",
): Credentials {
  return credentialEnv({
    trigger: {
      type: "kafka",
      metadata,
      ...(auth ? { authenticationRef: { name: auth.name, kind: auth.kind } } : {}),
    },
    ...(auth ? { auth } : {}),
    podNamespace: "shop",
    clusterObjectNamespace,
    containers,
  });
}

const secret = (name: string, key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });

test("credentials become references the pod can hold", () => {
  const cases: [string, Credentials, Credentials][] = [
    ["no authentication", creds({}), { ok: true, env: [] }],
    [
      "tls, sasl and unsafeSsl in metadata",
      creds({ tls: "enable", sasl: "plaintext", unsafeSsl: "true" }),
      {
        ok: true,
        env: [
          { name: "KAFKA_SASL", value: "plaintext" },
          { name: "KAFKA_TLS", value: "enable" },
          { name: "KAFKA_UNSAFE_SSL", value: "true" },
        ],
      },
    ],
    [
      "secretTargetRef in the pod's namespace → secretKeyRef; configMapTargetRef → configMapKeyRef",
      creds(
        {},
        TA({
          secretTargetRef: [
            { parameter: "sasl", name: "kafka-user", key: "sasl" },
            { parameter: "username", name: "kafka-user", key: "user" },
            { parameter: "password", name: "kafka-user", key: "password" },
          ],
          configMapTargetRef: [{ parameter: "ca", name: "kafka-ca", key: "ca.crt" }],
        }),
      ),
      {
        ok: true,
        env: [
          { name: "KAFKA_SASL", ...secret("kafka-user", "sasl") },
          { name: "KAFKA_USERNAME", ...secret("kafka-user", "user") },
          { name: "KAFKA_PASSWORD", ...secret("kafka-user", "password") },
          { name: "KAFKA_CA", valueFrom: { configMapKeyRef: { name: "kafka-ca", key: "ca.crt" } } },
        ],
      },
    ],
    [
      "metadata's sasl wins over the TriggerAuthentication's, as in KEDA",
      creds(
        { sasl: "scram_sha512" },
        TA({ secretTargetRef: [{ parameter: "sasl", name: "s", key: "sasl" }] }),
      ),
      { ok: true, env: [{ name: "KAFKA_SASL", value: "scram_sha512" }] },
    ],
    [
      "a secretTargetRef wins over an env entry for the same parameter (the resolver's order)",
      creds(
        {},
        TA({
          env: [{ parameter: "password", name: "NOT_THERE" }],
          secretTargetRef: [{ parameter: "password", name: "s", key: "p" }],
        }),
      ),
      { ok: true, env: [{ name: "KAFKA_PASSWORD", ...secret("s", "p") }] },
    ],
    [
      "env entries copy the consumer's definitions",
      creds(
        { sasl: "plaintext" },
        TA({
          env: [
            { parameter: "username", name: "KAFKA_USER" },
            { parameter: "password", name: "KAFKA_PASS", containerName: "consumer" },
          ],
        }),
      ),
      {
        ok: true,
        env: [
          { name: "KAFKA_SASL", value: "plaintext" },
          { name: "KAFKA_USERNAME", value: "orders" },
          { name: "KAFKA_PASSWORD", ...secret("kafka-user", "password") },
        ],
      },
    ],
    [
      "parameters the sidecar does not use are left out",
      creds({}, TA({ secretTargetRef: [{ parameter: "awsRegion", name: "s", key: "r" }] })),
      { ok: true, env: [] },
    ],
    [
      "a ClusterTriggerAuthentication whose Secret is in lagscale's namespace",
      creds({}, CTA({ secretTargetRef: [{ parameter: "password", name: "kafka-user", key: "password" }] })),
      {
        ok: false,
        problems: [
          "ClusterTriggerAuthentication shared spec.secretTargetRef[0] (parameter password): Secret lagscale/kafka-user is in another namespace than the pod (shop), and a pod can only reference its own namespace's: copy it into shop and use a TriggerAuthentication there (docs/injection.md)",
        ],
      },
    ],
    [
      "a ClusterTriggerAuthentication reading lagscale's namespace when the pod is in it works",
      creds(
        {},
        CTA({ secretTargetRef: [{ parameter: "password", name: "kafka-user", key: "password" }] }),
        "shop",
      ),
      { ok: true, env: [{ name: "KAFKA_PASSWORD", ...secret("kafka-user", "password") }] },
    ],
    [
      "HashiCorp Vault",
      creds({}, TA({ hashiCorpVault: { address: "https://vault:8200" } })),
      {
        ok: false,
        problems: [
          "TriggerAuthentication shop/kafka-auth: HashiCorp Vault (spec.hashiCorpVault) is not supported by lagscale; use secretTargetRef, configMapTargetRef or env; a pod cannot reference it either (docs/injection.md)",
        ],
      },
    ],
    [
      "a missing TriggerAuthentication",
      creds({}, TA(undefined)),
      {
        ok: false,
        problems: ["TriggerAuthentication shop/kafka-auth (the trigger's authenticationRef) does not exist"],
      },
    ],
    [
      "an env entry the consumer defines through envFrom",
      creds({}, TA({ env: [{ parameter: "password", name: "PW", containerName: "other" }] })),
      {
        ok: false,
        problems: [
          'TriggerAuthentication shop/kafka-auth spec.env[0] (parameter password): environment variable "PW" of container "other" is not in its env list (envFrom cannot be copied without reading it): define it with env, as value or valueFrom',
        ],
      },
    ],
    [
      "an env entry naming a missing container",
      creds({}, TA({ env: [{ parameter: "password", name: "PW", containerName: "nope" }] })),
      {
        ok: false,
        problems: [
          'TriggerAuthentication shop/kafka-auth spec.env[0] (parameter password): the pod has no container "nope" (containers: consumer, other)',
        ],
      },
    ],
    [
      "SASL the sidecar cannot speak",
      creds({ sasl: "gssapi" }),
      {
        ok: false,
        problems: [
          "sasl gssapi: the sidecar's Kafka client speaks none, plaintext, scram_sha256, scram_sha512 and oauthbearer only",
        ],
      },
    ],
    [
      "OAUTHBEARER: the token endpoint, scopes and extensions from the TriggerAuthentication, client id and secret as username and password",
      creds(
        { sasl: "oauthbearer", tls: "enable" },
        TA({
          secretTargetRef: [
            { parameter: "username", name: "oidc", key: "client-id" },
            { parameter: "password", name: "oidc", key: "client-secret" },
            { parameter: "oauthTokenEndpointUri", name: "oidc", key: "token-url" },
            { parameter: "scopes", name: "oidc", key: "scopes" },
            { parameter: "oauthExtensions", name: "oidc", key: "extensions" },
          ],
        }),
      ),
      {
        ok: true,
        env: [
          { name: "KAFKA_SASL", value: "oauthbearer" },
          { name: "KAFKA_USERNAME", ...secret("oidc", "client-id") },
          { name: "KAFKA_PASSWORD", ...secret("oidc", "client-secret") },
          { name: "KAFKA_TLS", value: "enable" },
          { name: "KAFKA_OAUTH_TOKEN_ENDPOINT_URI", ...secret("oidc", "token-url") },
          { name: "KAFKA_SCOPES", ...secret("oidc", "scopes") },
          { name: "KAFKA_OAUTH_EXTENSIONS", ...secret("oidc", "extensions") },
        ],
      },
    ],
    [
      "MSK IAM: the token provider and region from the metadata, the AWS keys from the TriggerAuthentication",
      creds(
        { sasl: "oauthbearer", saslTokenProvider: "aws_msk_iam", awsRegion: "eu-west-1", tls: "enable" },
        TA({
          secretTargetRef: [
            { parameter: "awsAccessKeyID", name: "aws", key: "id" },
            { parameter: "awsSecretAccessKey", name: "aws", key: "secret" },
          ],
        }),
      ),
      {
        ok: true,
        env: [
          { name: "KAFKA_SASL", value: "oauthbearer" },
          { name: "KAFKA_TLS", value: "enable" },
          { name: "KAFKA_SASL_TOKEN_PROVIDER", value: "aws_msk_iam" },
          { name: "KAFKA_AWS_REGION", value: "eu-west-1" },
          { name: "AWS_ACCESS_KEY_ID", ...secret("aws", "id") },
          { name: "AWS_SECRET_ACCESS_KEY", ...secret("aws", "secret") },
        ],
      },
    ],
  ];
  for (const [name, got, want] of cases) assert.deepEqual(got, want, name);
});

test("copying a variable: value expanded against earlier literals, valueFrom as is, resourceFieldRef pinned", () => {
  const c: V1Container = {
    name: "app",
    env: [
      { name: "HOST", value: "kafka" },
      { name: "BROKERS", value: "$(HOST):9092,$(UNKNOWN):9092,$$(HOST)" },
      { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory" } } },
      { name: "HOST", value: "later-wins" },
    ],
  };
  assert.deepEqual(copyEnvVar(c, "BROKERS", "X"), {
    ok: true,
    env: { name: "X", value: "kafka:9092,$(UNKNOWN):9092,$(HOST)" },
  });
  assert.deepEqual(copyEnvVar(c, "MEM", "Y"), {
    ok: true,
    env: { name: "Y", valueFrom: { resourceFieldRef: { resource: "limits.memory", containerName: "app" } } },
  });
  assert.deepEqual(copyEnvVar(c, "HOST", "Z"), { ok: true, env: { name: "Z", value: "later-wins" } });
  assert.equal(c.env![2]!.valueFrom!.resourceFieldRef!.containerName, undefined, "the input is not changed");
});
