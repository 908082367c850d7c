/**
 * lagscale as a cluster runs it, on the local stack (real kube-apiserver and Kafka; pods run by the pod
 * runner, Services reached through its proxy): two controller replicas as pods (test/stack/lagscale/), the
 * API server calling the validating and mutating webhooks through the webhook Service, sidecars reporting
 * through the Service that selects the leader, a leader failover that moves the reports without losing the
 * scaling, and opted-in pods that still start when every replica is down.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  kafkaTrigger,
  consumerDeployment,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  deploymentReplicas,
  installCrds,
  kafka,
  kubeRest,
  livePods,
  produce,
  scaledObject,
  waitForReplicas,
  withAdmin,
  withSidecarOptIn,
  type PodView,
  type TestNamespace,
} from "../support/controller.js";
import { counterTotal } from "../support/prom-text.js";
import { loadStack } from "../support/stack.js";
import { podRunnerMissing } from "../support/kube.js";
import { waitFor } from "../support/wait.js";
import { uniqueName } from "../stack/kafka/client.js";
import { installController, type InstalledController } from "../stack/lagscale/deploy.js";
import { METRICS_PORT } from "../stack/lagscale/install.js";
import { SIDECAR_CONTAINER } from "../../controller/inject/sidecar.js";
import { INJECT_STATUS_ANNOTATION } from "../../controller/inject/index.js";
import type { KubeRest } from "../../controller/kube/index.js";

const stack = loadStack();
const skip = podRunnerMissing(stack);

async function metricsOf(ip: string): Promise<string> {
  const res = await fetch(`http://${ip}:${METRICS_PORT}/metrics`, { signal: AbortSignal.timeout(3_000) });
  return res.text();
}

describe(
  "the controller as pods: webhooks through their Service, reports through the leader's",
  { skip },
  () => {
    let app: TestNamespace;
    let controllerNs: string;
    let installed: InstalledController;
    let rest: KubeRest;
    const topic = uniqueName("pods-topic");
    const group = uniqueName("pods-group");
    const brokers = stack.kafka.bootstrapServers;

    before(async () => {
      rest = kubeRest(stack);
      await installCrds(stack);
      app = await createNamespace(stack, "ctl-pods-app");
      controllerNs = `${app.name.replace(/^ctl-pods-app/, "lagscale")}`;
      await withAdmin(kafka(brokers), (admin) => createTestTopic(admin, topic, 4));
      installed = await installController(stack, {
        namespace: controllerNs,
        watchNamespaces: [app.name],
        leaseDuration: "6s",
        renewDeadline: "4s",
        retryPeriod: "1s",
      });
      await installed.waitReady(2, 120_000);
    });

    after(async () => {
      await app?.remove();
      await installed?.uninstall();
      rest?.close();
    });

    it("the API server calls the validating webhook through the webhook Service", async () => {
      // minReplicaCount above maxReplicaCount: the webhook refuses it; nothing else would.
      const bad = scaledObject({
        namespace: app.name,
        name: "min-above-max",
        target: "nothing",
        spec: { minReplicaCount: 5, maxReplicaCount: 2 },
        triggers: [kafkaTrigger({ brokers, group, topic })],
      });
      await assert.rejects(createScaledObject(rest, bad), (err: Error) => {
        assert.match(String(err.message ?? err), /minReplicaCount/);
        return true;
      });
    });

    let consumerPods: PodView[] = [];

    it("an opted-in Deployment gets the sidecar from the mutating webhook, and the leader accepts its reports", async () => {
      const consumer = withSidecarOptIn(
        consumerDeployment({
          namespace: app.name,
          name: "consumer",
          // 0: the first pod comes from the ScaledObject, once the injector can find it
          replicas: 0,
          brokers,
          topic,
          group,
          sleepSeconds: 1,
        }),
      );
      await createDeployment(rest, consumer);
      await createScaledObject(
        rest,
        scaledObject({
          namespace: app.name,
          name: "consumer",
          target: "consumer",
          spec: { minReplicaCount: 1, maxReplicaCount: 4, pollingInterval: 30, cooldownPeriod: 300 },
          triggers: [kafkaTrigger({ brokers, group, topic, lagThreshold: 5 })],
        }),
      );
      consumerPods = await waitFor(
        "the consumer pod",
        async () => {
          const pods = await livePods(rest, app.name, "app=consumer");
          return pods.length === 1 ? pods : undefined;
        },
        60_000,
      );
      const pod = consumerPods[0]!;
      assert.deepEqual(
        pod.spec.initContainers?.map((c) => c.name),
        [SIDECAR_CONTAINER],
        "the webhook added the sidecar as the pod's one init container",
      );
      assert.ok(
        pod.metadata.annotations?.[INJECT_STATUS_ANNOTATION],
        "the status annotation records the injection",
      );
      const leader = (await installed.pods()).find((p) => p.leader)!;
      await waitFor(
        `reports accepted by the leader ${leader.name}`,
        async () =>
          counterTotal(await metricsOf(leader.ip), "lagscale_reports_received_total", 'code="200"') > 0
            ? true
            : undefined,
        60_000,
      );
    });

    it("a killed leader: another replica leads, the reports follow it, and scaling goes on", async () => {
      const before = await installed.pods();
      const old = before.find((p) => p.leader)!;
      const acceptedBefore = new Map<string, number>();
      for (const p of before.filter((q) => !q.leader)) {
        acceptedBefore.set(
          p.name,
          counterTotal(await metricsOf(p.ip), "lagscale_reports_received_total", 'code="200"'),
        );
      }
      await rest.delete(`/api/v1/namespaces/${controllerNs}/pods/${old.name}?gracePeriodSeconds=0`);
      const killedAt = Date.now();
      // The standby usually wins the Lease, but the Deployment's replacement pod may start in time to win it.
      await waitFor(
        "another replica to lead and receive reports",
        async () => {
          const leader = (await installed.pods()).find((p) => p.leader && p.name !== old.name);
          if (!leader) return undefined;
          const accepted = await metricsOf(leader.ip).then(
            (text) => counterTotal(text, "lagscale_reports_received_total", 'code="200"'),
            () => 0,
          );
          return accepted > (acceptedBefore.get(leader.name) ?? 0) ? true : undefined;
        },
        60_000,
      );
      console.log(
        `reports reached the new leader ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
      );
      // 60 messages at 1 s each with lagThreshold 5: the new leader must scale the consumer out.
      await withAdmin(kafka(brokers), async () => produce(kafka(brokers), topic, 60));
      await waitForReplicas(rest, app.name, "consumer", 4, 90_000);
      const view = await deploymentReplicas(rest, app.name, "consumer");
      assert.equal(view.spec, 4);
    });

    it("with every replica down, an opted-in pod starts without the sidecar within the webhook timeout", async () => {
      await rest.patch(`/apis/apps/v1/namespaces/${controllerNs}/deployments/lagscale-controller`, {
        spec: { replicas: 0 },
      });
      await waitFor(
        "no controller pod",
        async () => ((await installed.pods()).length === 0 ? true : undefined),
        60_000,
      );
      const started = Date.now();
      await createDeployment(
        rest,
        withSidecarOptIn(
          consumerDeployment({
            namespace: app.name,
            name: "lonely",
            replicas: 1,
            brokers,
            topic,
            group: uniqueName("g"),
            sleepSeconds: 1,
          }),
        ),
      );
      const [pod] = await waitFor(
        "the lonely pod",
        async () => {
          const pods = await livePods(rest, app.name, "app=lonely");
          return pods.length === 1 ? pods : undefined;
        },
        60_000,
      );
      // creationTimestamp has a resolution of 1 s: the time is taken when the pod is first seen (polled)
      const seenMs = Date.now() - started;
      console.log(
        `with every replica down, the opted-in pod existed ${(seenMs / 1000).toFixed(2)} s after its Deployment was created (webhook timeout 5 s)`,
      );
      assert.equal(pod!.spec.initContainers?.some((c) => c.name === SIDECAR_CONTAINER) ?? false, false);
      await waitFor(
        "the lonely pod to run",
        async () => {
          const [p] = await livePods(rest, app.name, "app=lonely");
          return p?.status?.phase === "Running" ? true : undefined;
        },
        60_000,
      );
    });
  },
);
