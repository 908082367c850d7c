/**
 * The report receiver's checks against the real API server: tokens come from the TokenRequest API bound to
 * pods the pod runner runs, the receiver checks them with a real TokenReview and the pods through the real
 * /scale selector. A report from the right pod is accepted; every other row is refused with its code.
 * A second controller that does not hold the Lease answers 503.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MAX_REPORT_BYTES } from "../../core/reports/schema.js";
import { createTopic } from "../stack/kafka/index.js";
import {
  condition,
  createDeployment,
  createNamespace,
  createScaledObject,
  getScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  scaledObject,
  sleeperDeployment,
  withAdmin,
  type ControllerProcess,
  type TestNamespace,
} from "../support/controller.js";
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import {
  partition,
  podToken,
  post,
  report,
  runningPods,
  startWithReceiver,
  type RunningPod,
} from "./reports-support.js";

const stack = loadStack();
const skip = podRunnerMissing(stack);

describe("report receiver: who may report", { skip }, () => {
  const rest = kubeRest(stack);
  let ns: TestNamespace;
  let controller: ControllerProcess;
  let port = 0;
  let pods: RunningPod[] = [];
  let outsider: RunningPod;
  const tokens = new Map<string, string>();
  const topic = `reports-auth-${Date.now().toString(36)}`;
  const group = `g-${topic}`;
  const body = (pod: RunningPod) => report(ns.name, pod, "consumer", group, [partition(topic, 0, 3)]);

  before(async () => {
    await installCrds(stack);
    ns = await createNamespace(stack, "reports-auth");
    await withAdmin(kafka(stack.bootstrapServers), (admin) => createTopic(admin, topic, 1));
    await createDeployment(rest, sleeperDeployment(ns.name, "consumer", 2));
    await createDeployment(rest, sleeperDeployment(ns.name, "other", 1));
    ({ controller, port } = await startWithReceiver({
      stack,
      name: `reports-auth-${ns.name}`,
      watchNamespaces: [ns.name],
    }));
    await createScaledObject(
      rest,
      scaledObject({
        namespace: ns.name,
        name: "consumer",
        target: "consumer",
        spec: { pollingInterval: 5, minReplicaCount: 2, maxReplicaCount: 2 },
        triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic, lagThreshold: 100 })],
      }),
    );
    await waitFor(
      "the ScaledObject to be Ready",
      async () =>
        condition(await getScaledObject(rest, ns.name, "consumer"), "Ready") === "True" ? true : undefined,
      60_000,
    );
    pods = await runningPods(rest, ns.name, "consumer", 2);
    outsider = (await runningPods(rest, ns.name, "other", 1))[0]!;
    for (const p of [...pods, outsider]) tokens.set(p.name, await podToken(stack, ns.name, p));
  });
  after(async () => {
    await controller?.stop();
    await ns?.remove();
    rest.close();
  });

  it("200: a report from the pod its token is bound to, a pod of the target", async () => {
    const r = await post(port, tokens.get(pods[0]!.name), body(pods[0]!));
    assert.deepEqual([r.status, r.body.accepted], [200, true], JSON.stringify(r.body));
  });

  it("401: no token, a forged token, a token for another audience", async () => {
    const none = await post(port, undefined, body(pods[0]!));
    assert.equal(none.status, 401);
    assert.match(none.body.error ?? "", /no bearer token/);

    const [h, payload, sig] = tokens.get(pods[0]!.name)!.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    claims.exp = Math.floor(Date.now() / 1000) + 86_400;
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sig}`;
    const f = await post(port, forged, body(pods[0]!));
    assert.equal(f.status, 401);
    assert.match(f.body.error ?? "", /not accepted/);

    const apiToken = await podToken(stack, ns.name, pods[0]!, "https://kubernetes.default.svc");
    const a = await post(port, apiToken, body(pods[0]!));
    assert.equal(a.status, 401, JSON.stringify(a.body));
  });

  it("403: another pod's token, a pod outside the target", async () => {
    const other = await post(port, tokens.get(pods[1]!.name), body(pods[0]!));
    assert.equal(other.status, 403);
    assert.match(other.body.error ?? "", new RegExp(`belongs to pod ${ns.name}/${pods[1]!.name}`));

    const out = await post(port, tokens.get(outsider.name), body(outsider));
    assert.equal(out.status, 403);
    assert.match(out.body.error ?? "", /is not a pod of the scale target of ScaledObject/);

    const wrongIp = await post(port, tokens.get(pods[0]!.name), {
      ...body(pods[0]!),
      pod: { ...body(pods[0]!).pod, ip: "127.9.9.9" },
    });
    assert.equal(wrongIp.status, 403);
    assert.match(wrongIp.body.error ?? "", /has IP/);
  });

  it("413: a body over MAX_REPORT_BYTES; 400: a malformed body, with the errors", async () => {
    const big = await post(port, tokens.get(pods[0]!.name), `{"pad":"${"x".repeat(MAX_REPORT_BYTES)}"}`);
    assert.equal(big.status, 413);
    const notJson = await post(port, tokens.get(pods[0]!.name), "{not json");
    assert.equal(notJson.status, 400);
    const bad = await post(port, tokens.get(pods[0]!.name), { ...body(pods[0]!), lag: 99 });
    assert.equal(bad.status, 400);
    assert.match((bad.body.errors ?? []).join(" "), /\/lag: 99 is not the sum/);
  });

  it("429: a pod sending faster than its limit, with Retry-After", async () => {
    const token = tokens.get(pods[1]!.name);
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(port, token, body(pods[1]!))));
    const codes = answers.map((a) => a.status);
    assert.ok(codes.includes(200), codes.join(","));
    const limited = answers.find((a) => a.status === 429);
    assert.ok(limited, `no 429 among ${codes.join(",")}`);
    assert.ok(Number(limited.retryAfter) >= 1);
  });

  it("503: a replica that is not the leader", async (t) => {
    const lease = "reports-held";
    const microTime = new Date().toISOString().replace(/Z$/, "000Z"); // a Lease's times are MicroTime
    await rest.post(`/apis/coordination.k8s.io/v1/namespaces/${ns.name}/leases`, {
      metadata: { name: lease, namespace: ns.name },
      spec: {
        holderIdentity: "another-replica",
        leaseDurationSeconds: 3600,
        acquireTime: microTime,
        renewTime: microTime,
      },
    });
    const follower = await startWithReceiver({
      stack,
      name: `reports-follower-${ns.name}`,
      watchNamespaces: [ns.name],
      leaderElect: true,
      leaseName: lease,
      leaseNamespace: ns.name,
    });
    t.after(() => follower.controller.stop());
    const r = await post(follower.port, tokens.get(pods[0]!.name), body(pods[0]!));
    assert.equal(r.status, 503);
    assert.match(r.body.error ?? "", /not the leader/);
    assert.equal(r.retryAfter, "1");
  });
});
