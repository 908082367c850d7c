/**
 * The sidecar injector behind the stack's real API server: the controller runs as a child process with
 * its webhook server on (a CA of the test's own) and its report receiver on plain HTTP; the rendered
 * MutatingWebhookConfiguration reaches it by URL, scoped to the test's namespace, and is deleted after.
 *
 * - a Deployment that opts in gets the sidecar through the API server's call (the stored pod spec says
 *   so), a second pass over the stored pod changes nothing, and the injected sidecar's reports are
 *   accepted by the controller;
 * - a consumer whose trigger reads the broker's SASL_SSL listener with OAUTHBEARER through a
 *   TriggerAuthentication gets a sidecar whose credentials are references to that Secret, and whose reports
 *   (sent only after a successful read) are accepted: the sidecar got a token from the test's issuer
 *   (test/stack/kafka/token-issuer.ts) and read the group over TLS;
 * - a Deployment that does not opt in is untouched;
 * - an invalid opt-in value starts the pod without the sidecar, with an Event on the Deployment;
 * - with the controller stopped (configuration still there, nothing answering), an opted-in pod is still
 *   created and starts; how long its creation took is printed.
 *
 * Pods on the local stack are host processes sharing the host's network: the controller passes
 * `--sidecar-bind-address=$(POD_IP)`; the sidecar reads its token at its default path, which the pod runner
 * translates to the projected volume's folder.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  AdmissionregistrationV1Api,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
} from "@kubernetes/client-node";
import {
  INJECT_STATUS_ANNOTATION,
  SIDECAR_CONTAINER,
  SIDECAR_TOKEN_VOLUME,
} from "../../controller/inject/index.js";
import { MUTATE_POD_PATH, renderMutatingWebhookConfiguration } from "../../controller/webhook/index.js";
import { buildInfo } from "../../controller/metrics.js";
import { reportedPods } from "../../demo-apps/demo/view.js";
import { createCa, issueCert } from "../stack/kube/pki.js";
import { TokenIssuer } from "../stack/kafka/token-issuer.js";
import { freePorts } from "../stack/process.js";
import {
  consumerDeployment,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  eventsFor,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  startController,
  withAdmin,
  type ControllerProcess,
  type TestNamespace,
} from "../support/controller.js";
import { podRunnerMissing, stackKubeConfig } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

const stack = loadStack();
const skip = podRunnerMissing(stack);
const LABEL = { "lagscale.io/inject": "enabled" };

/** A Deployment whose pod only sleeps (a host process), with the given template labels and annotations. */
function sleeper(
  ns: string,
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...labels }, annotations },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: "lagscale.local/host", command: ["sleep", "3600"] }],
        },
      },
    },
  };
}

describe("the sidecar injector through the real API server", { skip }, () => {
  const rest = kubeRest(stack);
  const admission = stackKubeConfig(stack).makeApiClient(AdmissionregistrationV1Api);
  const tmp = mkdtempSync(path.join(tmpdir(), "lagscale-inject-it-"));
  const run = Date.now().toString(36);
  let ns: TestNamespace;
  let controller: ControllerProcess;
  let configName = "";
  let webhookPort = 0;

  const pods = async (app: string): Promise<V1Pod[]> =>
    (
      await rest.get<{ items: V1Pod[] }>(`/api/v1/namespaces/${ns.name}/pods`, {
        labelSelector: `app=${app}`,
      })
    ).items.filter((p) => !p.metadata?.deletionTimestamp);
  const firstPod = (app: string) => waitFor(`a pod of ${app}`, async () => (await pods(app))[0], 60_000, 250);
  const running = (app: string) =>
    waitFor(
      `a Running pod of ${app}`,
      async () => (await pods(app)).find((p) => p.status?.phase === "Running"),
      90_000,
      250,
    );

  /** The talk's consumer as a Deployment of one pod that opts in; it reads the stack's plain listener. */
  const createOptedInConsumer = async (name: string, topic: string, group: string) => {
    const deployment = consumerDeployment({
      namespace: ns.name,
      name,
      replicas: 1,
      brokers: stack.bootstrapServers,
      topic,
      group,
      sleepSeconds: 0,
    }) as { spec: { template: { metadata: { labels: Record<string, string> } } } };
    Object.assign(deployment.spec.template.metadata.labels, LABEL);
    await createDeployment(rest, deployment);
  };
  /** The Deployment's first stored pod, which must hold the sidecar, and that sidecar. */
  const injectedPod = async (name: string) => {
    const pod = await firstPod(name);
    const sidecar = pod.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER);
    assert.ok(sidecar, `the stored pod has the sidecar: ${JSON.stringify(pod.spec?.initContainers ?? [])}`);
    return { pod, sidecar };
  };
  /** Waits for the controller's metrics to show an accepted report of the ScaledObject's pods. */
  const acceptedReports = (name: string, what: string) =>
    waitFor(
      what,
      async () => {
        const mine = reportedPods(await controller.metrics(), `${ns.name}/${name}`);
        return mine.length > 0 ? mine : undefined;
      },
      90_000,
      500,
    );

  let caPem: Buffer;
  /** An AdmissionReview for `pod` straight to the controller's /mutate-pod (as the API server sends it). */
  const postReview = (pod: V1Pod): Promise<{ allowed: boolean; patch?: string }> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid: "second-pass",
          kind: { group: "", version: "v1", kind: "Pod" },
          resource: { group: "", version: "v1", resource: "pods" },
          namespace: ns.name,
          operation: "CREATE",
          object: pod,
        },
      });
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: webhookPort,
          path: MUTATE_POD_PATH,
          method: "POST",
          headers: { "content-type": "application/json" },
          ca: caPem,
        },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c.toString()));
          res.on("end", () => {
            try {
              resolve((JSON.parse(text) as { response: { allowed: boolean; patch?: string } }).response);
            } catch (err) {
              reject(new Error(`${res.statusCode ?? 0}: ${text} (${(err as Error).message})`));
            }
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  before(async () => {
    await installCrds(stack);
    ns = await createNamespace(stack, "inject-it");
    const ca = await createCa(tmp, "ca", "lagscale-inject-test-ca");
    caPem = readFileSync(ca.cert);
    await issueCert(tmp, "tls", ca, { commonName: "127.0.0.1", ipAddresses: ["127.0.0.1"], usage: "server" });
    // The report receiver's port must be known before the controller starts (it is in the sidecar's URL), so
    // it is picked here; a port taken meanwhile by a neighbouring test's process means another try.
    for (let attempt = 1; ; attempt++) {
      const [reportsPort] = (await freePorts(1)) as [number];
      controller = await startController({
        stack,
        name: `inject-${ns.name}-${attempt}`,
        watchNamespaces: [ns.name],
        extraArgs: [
          "--webhooks=on",
          `--cert-dir=${tmp}`,
          "--webhook-port=0",
          "--reports=http",
          `--reports-port=${reportsPort}`,
          "--sidecar-image=lagscale/sidecar:dev",
          `--sidecar-report-url=http://127.0.0.1:${reportsPort}/v1/reports`,
          "--sidecar-bind-address=$(POD_IP)",
        ],
      });
      const listening = await controller
        .waitForLog((l) => l.component === "reports" && l.port === reportsPort, 30_000)
        .then(
          () => true,
          async (err: unknown) => {
            const inUse = controller.logs.some((l) => JSON.stringify(l).includes("EADDRINUSE"));
            await controller.stop("SIGKILL");
            if (!inUse || attempt === 3) throw err;
            return false;
          },
        );
      if (listening) break;
    }
    const line = await controller.waitForLog(
      (l) => l.server === "webhook" && typeof l.port === "number",
      30_000,
    );
    webhookPort = Number(line.port);

    configName = `lagscale-inject-test-${ns.name}`;
    const config = renderMutatingWebhookConfiguration({
      name: configName,
      url: `https://127.0.0.1:${webhookPort}`,
      caBundle: caPem,
      ownNamespace: "lagscale",
    });
    // This test's namespace only, so that no one else's pods are sent to this short-lived controller.
    config.webhooks[0]!.namespaceSelector.matchExpressions.push({
      key: "kubernetes.io/metadata.name",
      operator: "In",
      values: [ns.name],
    });
    await admission.createMutatingWebhookConfiguration({ body: config as V1MutatingWebhookConfiguration });

    // The API server learns the configuration through an informer: wait until a dry-run create reaches the
    // webhook (it answers dry runs unchanged, and logs them).
    await waitFor(
      "the API server to call the injector",
      async () => {
        await rest.post(
          `/api/v1/namespaces/${ns.name}/pods`,
          {
            metadata: { name: "probe", labels: LABEL },
            spec: { containers: [{ name: "main", image: "lagscale.local/host", command: ["true"] }] },
          },
          { dryRun: "All" },
        );
        return controller.logs.some((l) => l.result === "ignored" && l.namespace === ns.name)
          ? true
          : undefined;
      },
      30_000,
      250,
    );
  });

  after(async () => {
    if (configName)
      await admission.deleteMutatingWebhookConfiguration({ name: configName }).catch(() => undefined);
    await controller?.stop();
    await ns?.remove();
    rest.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("a Deployment that opts in gets the sidecar, and its reports are accepted", async () => {
    const name = "injected";
    const topic = `inject-${run}`;
    const group = `g-${topic}`;
    await withAdmin(kafka(stack.bootstrapServers), (admin) => createTestTopic(admin, topic, 2));
    await createScaledObject(
      rest,
      scaledObject({
        namespace: ns.name,
        name,
        target: name,
        spec: { pollingInterval: 5, minReplicaCount: 1, maxReplicaCount: 1 },
        triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic, lagThreshold: 7 })],
      }),
    );
    await createOptedInConsumer(name, topic, group);
    const { pod, sidecar } = await injectedPod(name);
    assert.equal(sidecar.restartPolicy, "Always");
    assert.equal(sidecar.image, "lagscale/sidecar:dev");
    const env = new Map(sidecar.env?.map((e) => [e.name, e.value]));
    assert.equal(env.get("LAGSCALE_SCALED_OBJECT"), name);
    assert.equal(env.get("KAFKA_BOOTSTRAP_SERVERS"), stack.bootstrapServers.join(","));
    assert.equal(env.get("LAGSCALE_CONSUMER_GROUP"), group);
    assert.equal(env.get("LAGSCALE_TOPIC"), topic);
    assert.equal(env.get("LAGSCALE_LAG_THRESHOLD"), "7");
    assert.equal(env.get("LAGSCALE_BIND_ADDRESS"), "$(POD_IP)");
    const volume = pod.spec?.volumes?.find((v) => v.name === SIDECAR_TOKEN_VOLUME);
    assert.equal(volume?.projected?.sources?.[0]?.serviceAccountToken?.audience, "lagscale.io/reports");
    const status = JSON.parse(pod.metadata?.annotations?.[INJECT_STATUS_ANNOTATION] ?? "{}") as Record<
      string,
      unknown
    >;
    assert.equal(status.version, buildInfo().version);
    assert.equal(status.scaledObject, name);
    assert.deepEqual(
      pod.spec?.containers.map((c) => c.name),
      ["kafka-consumer"],
      "the consumer is untouched",
    );

    // A second pass (what reinvocation sends): the stored pod, sent to the webhook, comes back unchanged.
    const again = await postReview(pod);
    assert.equal(again.allowed, true);
    assert.equal(again.patch, undefined, "no patch for a pod that has the sidecar");

    const reported = await acceptedReports(name, "the injected sidecar's report to be accepted");
    console.log(`reports accepted from ${reported.map((p) => `${p.pod}:${p.state}`).join(", ")}`);
    assert.ok(
      controller.logs.some(
        (l) => typeof l.msg === "string" && l.msg.startsWith("report accepted") && l.pod === reported[0]!.pod,
      ),
      "the receiver logged an accepted report",
    );
  });

  it(
    "a consumer whose trigger reads through SASL_SSL with OAUTHBEARER (a TriggerAuthentication's Secret) gets a sidecar that reads the group there",
    { skip: stack.kafka.secured ? false : "the stack's Kafka has no secured listeners (local kind only)" },
    async (t) => {
      const s = stack.kafka.secured!;
      const name = "oauth";
      const topic = `inject-oauth-${run}`;
      const group = `g-${topic}`;
      const issuer = await new TokenIssuer({ clients: { "sidecar-client": "sidecar-secret" } }).start();
      t.after(() => issuer.stop());
      const secret = {
        ca: readFileSync(s.pki.ca, "utf8"),
        username: "sidecar-client",
        password: "sidecar-secret",
        oauthTokenEndpointUri: issuer.url,
        scopes: s.oauthRequiredScope,
      };
      await rest.post(`/api/v1/namespaces/${ns.name}/secrets`, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace: ns.name },
        stringData: secret,
      });
      await rest.post(`/apis/lagscale.io/v1alpha1/namespaces/${ns.name}/triggerauthentications`, {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "TriggerAuthentication",
        metadata: { name, namespace: ns.name },
        spec: { secretTargetRef: Object.keys(secret).map((key) => ({ parameter: key, name, key })) },
      });
      const k = kafka(stack.bootstrapServers);
      await withAdmin(k, (admin) => createTestTopic(admin, topic, 2));
      await createScaledObject(
        rest,
        scaledObject({
          namespace: ns.name,
          name,
          target: name,
          spec: { pollingInterval: 5, minReplicaCount: 1, maxReplicaCount: 1 },
          triggers: [
            kafkaTrigger({
              brokers: s.saslSsl,
              group,
              topic,
              lagThreshold: 7,
              extra: { tls: "enable", sasl: "oauthbearer" },
              authRef: name,
            }),
          ],
        }),
      );
      // The consumer itself reads the plain listener; only the sidecar goes through SASL_SSL.
      await createOptedInConsumer(name, topic, group);
      const { sidecar } = await injectedPod(name);
      const env = new Map(sidecar.env?.map((e) => [e.name, e]));
      assert.equal(env.get("KAFKA_BOOTSTRAP_SERVERS")?.value, s.saslSsl.join(","));
      assert.equal(env.get("KAFKA_TLS")?.value, "enable");
      assert.equal(env.get("KAFKA_SASL")?.value, "oauthbearer");
      // Every credential is a reference to the Secret: lagscale never copies a secret value into a pod.
      const referenced = [
        ["KAFKA_CA", "ca"],
        ["KAFKA_USERNAME", "username"],
        ["KAFKA_PASSWORD", "password"],
        ["KAFKA_OAUTH_TOKEN_ENDPOINT_URI", "oauthTokenEndpointUri"],
        ["KAFKA_SCOPES", "scopes"],
      ] as const;
      for (const [variable, key] of referenced) {
        assert.deepEqual(env.get(variable)?.valueFrom?.secretKeyRef, { name, key }, variable);
        assert.equal(env.get(variable)?.value, undefined, `${variable} holds no value of its own`);
      }

      // The sidecar reports only what it read from Kafka: an accepted report means the read over
      // SASL_SSL worked, with a token from the issuer.
      const reported = await acceptedReports(
        name,
        "the injected sidecar's report over SASL_SSL/OAUTHBEARER to be accepted",
      );
      console.log(
        `reports accepted over OAUTHBEARER from ${reported.map((p) => `${p.pod}:${p.state}`).join(", ")}; the issuer answered ${issuer.requests.length} token requests`,
      );
      assert.ok(
        issuer.requests.some(
          (r) => r.clientId === "sidecar-client" && r.scopes.includes(s.oauthRequiredScope),
        ),
        `the Secret's client asked for a token with the required scope (the controller's reads ask too): ${JSON.stringify(issuer.requests)}`,
      );
    },
  );

  it("a Deployment that does not opt in is untouched", async () => {
    await createDeployment(rest, sleeper(ns.name, "plain", {}));
    const pod = await firstPod("plain");
    assert.equal(pod.spec?.initContainers, undefined);
    assert.equal(pod.metadata?.annotations?.[INJECT_STATUS_ANNOTATION], undefined);
    assert.deepEqual(
      pod.spec?.volumes?.map((v) => v.name).filter((n) => n === SIDECAR_TOKEN_VOLUME) ?? [],
      [],
    );
  });

  it("an invalid opt-in value starts the pod without the sidecar, with an Event on the Deployment", async () => {
    await createDeployment(rest, sleeper(ns.name, "invalid", LABEL, { "lagscale.io/inject": "yes" }));
    const pod = await running("invalid");
    assert.equal(pod.spec?.initContainers, undefined);
    const event = await waitFor(
      "the InjectionSkipped Event",
      async () =>
        (await eventsFor(rest, ns.name, "Deployment", "invalid")).find(
          (e) => e.reason === "InjectionSkipped",
        ),
      30_000,
      250,
    );
    assert.equal(event.type, "Warning");
    assert.match(event.message, /annotation lagscale.io\/inject="yes": must be enabled or disabled/);
  });

  it("with the controller stopped, an opted-in pod is still created and starts, without the sidecar", async () => {
    await controller.stop();
    const t0 = Date.now();
    await rest.post(`/api/v1/namespaces/${ns.name}/pods`, {
      metadata: {
        name: "while-down",
        labels: { app: "while-down", ...LABEL },
        annotations: { "lagscale.io/scaled-object": "injected" },
      },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "main", image: "lagscale.local/host", command: ["sleep", "3600"] }],
      },
    });
    const createMs = Date.now() - t0;
    console.log(`pod creation with the injector down took ${createMs} ms (webhook timeout 5 s)`);
    const pod = await running("while-down");
    assert.equal(pod.spec?.initContainers, undefined);
  });
});
