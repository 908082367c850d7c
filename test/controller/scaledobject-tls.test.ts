/**
 * Secured Kafka end to end: the controller (a real process) resolves TriggerAuthentications whose Secrets hold
 * PEM material, passwords and OAuth client credentials, and reads the lag through the stack broker's TLS, mTLS
 * and SASL_SSL listeners (PLAIN, SCRAM, OAUTHBEARER with a local token endpoint); one mTLS ScaledObject goes
 * through a ClusterTriggerAuthentication whose Secret lives in the controller's namespace. Each working ScaledObject
 * scales 1 → 2 on a lag of 15; `unsafeSsl` scales without a CA and is warned about in the log. A foreign CA,
 * an expired and a foreign client certificate, a wrong password and an expired token each fail the reads
 * with a KEDAScalerFailed event naming the cause, Ready=False, and an unchanged replica count; the wrong
 * password, once corrected in its Secret, scales without a restart.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  commitAtEnd,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  deploymentReplicas,
  eventsFor,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  produce,
  scaledObject,
  sleeperDeployment,
  startController,
  waitForReplicas,
  withAdmin,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import { TokenIssuer } from "../stack/kafka/token-issuer.js";

interface Case {
  name: string;
  brokers: string[];
  /** Trigger metadata besides brokers, group and topic. */
  metadata: Record<string, string>;
  /** Secret data, each key mapped to the parameter of the same name. */
  secret: Record<string, string>;
  /** Absent: the read must work and scale to 2. Present: the event must match. */
  fails?: RegExp;
  /** Through a ClusterTriggerAuthentication (its Secret in the controller's namespace). */
  cluster?: boolean;
}

test("TLS, mTLS and SASL_SSL listeners through TriggerAuthentications and Secrets", async (t) => {
  const stack = loadStack();
  const missing = podRunnerMissing(stack);
  if (missing) return t.skip(missing);
  const s = stack.kafka.secured;
  if (!s) return t.skip(`the stack's Kafka (${stack.kafka.kind}) has no secured listeners (local kind only)`);
  const scram = stack.kafka.sasl?.users.find((u) => u.mechanism === "scram-sha-256");
  assert.ok(scram, "the broker has a SCRAM-SHA-256 user");
  const pem = (file: string) => readFileSync(file, "utf8");
  const ca = pem(s.pki.ca);
  const plain = s.plainUsers[0]!;

  const issuer = await new TokenIssuer({ clients: { "so-client": "so-secret" } }).start();
  t.after(() => issuer.stop());
  const expiredIssuer = await new TokenIssuer({ clients: { "so-client": "so-secret" } }).start();
  expiredIssuer.issueExpired = true;
  t.after(() => expiredIssuer.stop());
  const oauth = (endpoint: string) => ({
    username: "so-client",
    password: "so-secret",
    oauthTokenEndpointUri: endpoint,
    scopes: s.oauthRequiredScope,
  });

  const cases: Case[] = [
    { name: "tls", brokers: s.tls, metadata: { tls: "enable" }, secret: { ca } },
    {
      name: "mtls",
      brokers: s.mtls,
      metadata: { tls: "enable" },
      secret: {
        ca,
        cert: pem(s.pki.clientCert),
        key: pem(s.pki.clientEncryptedKey),
        keyPassword: s.pki.clientKeyPassword,
      },
    },
    {
      name: "plain",
      brokers: s.saslSsl,
      metadata: { tls: "enable", sasl: "plaintext" },
      secret: { ca, username: plain.username, password: plain.password },
    },
    {
      name: "scram",
      brokers: s.saslSsl,
      metadata: { tls: "enable", sasl: "scram_sha256" },
      secret: { ca, username: scram.username, password: scram.password },
    },
    {
      name: "oauth",
      brokers: s.saslSsl,
      metadata: { tls: "enable", sasl: "oauthbearer" },
      secret: { ca, ...oauth(issuer.url) },
    },
    {
      name: "cluster-mtls",
      brokers: s.mtls,
      metadata: { tls: "enable" },
      secret: { ca, cert: pem(s.pki.clientCert), key: pem(s.pki.clientKey) },
      cluster: true,
    },
    { name: "unsafe", brokers: s.tls, metadata: { tls: "enable", unsafeSsl: "true" }, secret: {} },
    {
      name: "wrong-ca",
      brokers: s.tls,
      metadata: { tls: "enable" },
      secret: { ca: pem(s.pki.foreignCa) },
      fails: /not signed by the CA given in `ca`/,
    },
    {
      name: "expired-cert",
      brokers: s.mtls,
      metadata: { tls: "enable" },
      secret: { ca, cert: pem(s.pki.expiredClientCert), key: pem(s.pki.expiredClientKey) },
      fails: /refused the client certificate/,
    },
    {
      name: "foreign-cert",
      brokers: s.mtls,
      metadata: { tls: "enable" },
      secret: { ca, cert: pem(s.pki.foreignClientCert), key: pem(s.pki.foreignClientKey) },
      fails: /refused the client certificate/,
    },
    {
      name: "wrong-password",
      brokers: s.saslSsl,
      metadata: { tls: "enable", sasl: "plaintext" },
      secret: { ca, username: plain.username, password: "not-the-password" },
      fails: /[Aa]uthentication failed/,
    },
    {
      name: "expired-token",
      brokers: s.saslSsl,
      metadata: { tls: "enable", sasl: "oauthbearer" },
      secret: { ca, ...oauth(expiredIssuer.url) },
      fails: /rejected the OAuth token.*invalid_token/,
    },
  ];

  const rest = kubeRest(stack);
  t.after(() => rest.close());
  await installCrds(stack);
  const ns = await createNamespace(stack, "so-tls");
  t.after(ns.remove);
  // Plays lagscale's own namespace, where ClusterTriggerAuthentications read Secrets.
  const home = await createNamespace(stack, "so-tls-home");
  t.after(home.remove);
  const ctaName = (c: Case) => `${home.name}-${c.name}`;
  const ctaPath = "/apis/lagscale.io/v1alpha1/clustertriggerauthentications";
  t.after(async () => {
    for (const c of cases.filter((x) => x.cluster))
      await rest.delete(`${ctaPath}/${ctaName(c)}`).catch(() => undefined);
  });
  const k = kafka(stack.bootstrapServers);
  const topic = `tls-${ns.name}`;
  const group = `g-tls-${ns.name}`;
  await withAdmin(k, async (admin) => {
    await createTestTopic(admin, topic, 3);
    await commitAtEnd(admin, group, topic);
  });
  await produce(k, topic, 15); // lag 15: 2 replicas at lagThreshold 10

  for (const c of cases) {
    const secretNs = c.cluster ? home.name : ns.name;
    await rest.post(`/api/v1/namespaces/${secretNs}/secrets`, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: c.name, namespace: secretNs },
      stringData: c.secret,
    });
    const spec = {
      secretTargetRef: Object.keys(c.secret).map((key) => ({ parameter: key, name: c.name, key })),
    };
    if (c.cluster) {
      await rest.post(ctaPath, {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "ClusterTriggerAuthentication",
        metadata: { name: ctaName(c) },
        spec,
      });
    } else {
      await rest.post(`/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/triggerauthentications`, {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "TriggerAuthentication",
        metadata: { name: c.name, namespace: ns.name },
        spec,
      });
    }
    await createDeployment(rest, sleeperDeployment(ns.name, c.name, 1));
  }
  const controller = await startController({
    stack,
    name: `tls-${ns.name}`,
    watchNamespaces: [ns.name],
    env: { LAGSCALE_CLUSTER_OBJECT_NAMESPACE: home.name },
  });
  t.after(async () => {
    await controller.stop();
  });
  for (const c of cases) {
    await createScaledObject(
      rest,
      scaledObject({
        namespace: ns.name,
        name: c.name,
        target: c.name,
        spec: { pollingInterval: 2, minReplicaCount: 1, maxReplicaCount: 5 },
        triggers: [
          {
            ...kafkaTrigger({
              brokers: c.brokers,
              group,
              topic,
              extra: c.metadata,
              ...(Object.keys(c.secret).length > 0 ? { authRef: c.name } : {}),
            }),
            ...(c.cluster
              ? { authenticationRef: { name: ctaName(c), kind: "ClusterTriggerAuthentication" } }
              : {}),
          },
        ],
      }),
    );
  }

  for (const c of cases.filter((x) => !x.fails)) {
    await waitForReplicas(rest, ns.name, c.name, 2, 60_000);
    const so = await waitFor(
      `${c.name}: status.currentLag`,
      async () => {
        const x = await getScaledObject(rest, ns.name, c.name);
        return x?.status?.currentReplicas === 2 ? x : undefined;
      },
      60_000,
    );
    assert.equal(so.status?.currentLag, 15, c.name);
  }
  assert.ok(issuer.requests.length >= 1, "the OAuth ScaledObject fetched a token");
  await controller.waitForLog(
    (l) => l.level === "warn" && /unsafeSsl/.test(String(l.msg)) && /127\.0\.0\.1/.test(String(l.cluster)),
    10_000,
  );

  for (const c of cases.filter((x) => x.fails)) {
    const failed = await waitFor(
      `${c.name}: a KEDAScalerFailed event`,
      async () =>
        (await eventsFor(rest, ns.name, "ScaledObject", c.name)).find((e) => e.reason === "KEDAScalerFailed"),
      60_000,
    );
    assert.match(failed.message, c.fails!, c.name);
    const so = await getScaledObject(rest, ns.name, c.name);
    assert.equal(so?.status?.conditions?.find((x) => x.type === "Ready")?.status, "False", c.name);
    assert.equal((await deploymentReplicas(rest, ns.name, c.name)).spec, 1, `${c.name}: replicas unchanged`);
  }

  // The password is corrected in the Secret: the next evaluations use it, without a restart.
  await rest.patch(`/api/v1/namespaces/${ns.name}/secrets/wrong-password`, {
    stringData: { password: plain.password },
  });
  await waitForReplicas(rest, ns.name, "wrong-password", 2, 60_000);
});
