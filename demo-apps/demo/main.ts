/**
 * `npm run demo`: the talk's demo on the local stack (docs/demo.md). Kafka topic `my-topic` with 5 partitions,
 * the producer and the consumer from demo-apps/manifests, lagscale's CRDs and controller, the talk's
 * ScaledObject, one request to the producer, then a live view of replicas and lag as the consumer goes
 * 0 → 5 → 0. The consumer runs with lagscale's sidecar, which reports each pod's partitions, lag and state to
 * the controller's receiver; `--no-sidecar` replays the polling-only run. Cleans up the demo (not the stack) at
 * the end and on Ctrl-C.
 *
 *   npm run demo -- [--count N] [--timeout S] [--keep] [--no-sidecar]
 */
import path from "node:path";
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import type { Admin } from "kafkajs";
import { INJECT_KEY, INJECT_STATUS_ANNOTATION, SIDECAR_CONTAINER } from "../../controller/inject/index.js";
import { kafkaClient } from "../../test/stack/kafka/client.js";
import { repoRoot } from "../../test/stack/paths.js";
import { describeError } from "../../test/stack/pod-runner/kube.js";
import { sleep } from "../../test/stack/process.js";
import { ensureStack } from "../../test/stack/stack.js";
import type { StackInfo } from "../../test/stack/types.js";
import { parseArgs, USAGE, type DemoArgs } from "./args.js";
import { installController, type InstalledController } from "../../test/stack/lagscale/deploy.js";
import { METRICS_PORT } from "../../test/stack/lagscale/install.js";
import { deleteGroup, freshTopic, readLag } from "./kafka.js";
import {
  apply,
  deleteNamespace,
  describeObject,
  EventFollower,
  installCrds,
  interesting,
  kubeClients,
  kubectlGet,
  namespaceExists,
  podProblem,
  removeFinalizers,
  waitFor,
  type Kube,
} from "./kube.js";
import {
  CONSUMER,
  forLocalStack,
  GROUP,
  loadManifests,
  LAGSCALE_NAMESPACE,
  NAMESPACE,
  PARTITIONS,
  PRODUCER,
  PRODUCER_PORT,
  SCALED_OBJECT,
  scaledObject,
  sourceImagePatch,
  TOPIC,
  startingAtZero,
  withSidecarOptOut,
} from "./manifests.js";
import {
  clock,
  eventLine,
  HEADER,
  reportedPods,
  sampleLine,
  secs,
  SIDECAR_HEADER,
  Tracker,
  type PodReport,
  type Sample,
} from "./view.js";
import { errorText } from "../../core/errors.js";

const MAX_REPLICAS = 5;
const TICK_MS = 2_000;

const t0 = Date.now();
const say = (line = "") => console.log(line);
const step = (n: number, title: string) => say(`\n== ${n}. ${title}  (${secs(Date.now() - t0)} since start)`);
const note = (line: string) => say(`   ${line}`);

/** What the clean-up has to undo, filled in as the demo goes. */
interface State {
  stack?: StackInfo;
  kube?: Kube;
  admin?: Admin;
  controller?: InstalledController;
  namespaceCreated: boolean;
  topicCreated: boolean;
}

/** A path relative to the working directory when it is below it, else absolute. */
function show(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") ? rel : p;
}

const aborter = new AbortController();
const signal = aborter.signal;

function interrupted(): void {
  if (signal.aborted) throw new Error("interrupted");
}

async function main(args: DemoArgs, state: State): Promise<void> {
  // 1. The stack.
  step(1, "the local stack: Kafka and a Kubernetes control plane (reused when one is up)");
  const ensured = await ensureStack({ progress: (line) => note(`${clock(new Date())} ${line}`) });
  const stack = ensured.info;
  state.stack = stack;
  note(
    `${ensured.startedHere ? "started" : "reusing the running stack"}: Kafka ${stack.kafka.kind} ${stack.kafka.version} at ${stack.bootstrapServers.join(",")}, Kubernetes ${stack.kube.kind} ${stack.kube.version} at ${stack.kube.server}`,
  );
  if (stack.kube.kind !== "local" || !stack.podRunner) {
    note(
      "note: an external cluster: the demo images must be pullable there (see demo-apps/README.md), and the",
    );
    note("      bootstrap servers must be reachable from its pods");
  }
  const kube = kubeClients(stack.kubeconfig);
  state.kube = kube;
  const kafka = kafkaClient(stack.kafka, "lagscale-demo");
  const admin = kafka.admin();
  await admin.connect();
  state.admin = admin;
  interrupted();

  if (await namespaceExists(kube, NAMESPACE)) {
    note(
      `namespace ${NAMESPACE} is left from an earlier run (--keep, or interrupted twice): deleting it first`,
    );
    // its ScaledObject may carry the finalizer of a controller that is gone; the whole namespace goes anyway
    await removeFinalizers(kube, NAMESPACE).catch(() => undefined);
    await deleteNamespace(kube, NAMESPACE, 120_000, signal);
  }

  // 2. The topic.
  step(2, `topic ${TOPIC} with ${PARTITIONS} partitions, replication 1`);
  note(
    "the talk creates it with a Strimzi KafkaTopic, demo-apps/manifests with a Job running kafka-topics.sh from the",
  );
  note(
    "apache/kafka image; that image is not on the local stack, so the demo uses the Kafka admin API instead",
  );
  await deleteGroup(admin, GROUP);
  await freshTopic(admin, TOPIC, PARTITIONS, note);
  state.topicCreated = true;
  note(
    `created ${TOPIC} (${PARTITIONS} partitions); consumer group ${GROUP} starts with no committed offsets`,
  );
  interrupted();

  // 3. lagscale, before the apps: the injector must be there when the consumer's pods are created.
  step(3, "lagscale: CRDs and the controller (2 replicas, leader election, webhooks, report receiver)");
  const crds = await installCrds(kube, path.join(repoRoot, "charts", "lagscale", "crds"), signal);
  note(`CRDs installed: ${crds.join(", ")}`);
  let autoscaling = false;
  if (args.noController) {
    note("--no-controller: lagscale is not installed");
  } else {
    const installed = await installController(stack, {
      namespace: LAGSCALE_NAMESPACE,
      watchNamespaces: [NAMESPACE],
      logLevel: "info",
      ...(args.noSidecar ? { pollingOnly: true } : {}),
    });
    state.controller = installed;
    const pods = await installed.waitReady(2, 120_000).catch((err: unknown) => {
      say("");
      note("!! AUTOSCALING IS NOT RUNNING: the lagscale controller did not become ready.");
      note(`!! ${describeError(err).split("\n").join("\n   !! ")}`);
      note("!! Everything else runs; the consumer stays where it is and nothing scales it.");
      return undefined;
    });
    if (pods) {
      autoscaling = true;
      const leader = pods.find((p) => p.leader)!;
      note(
        `namespace ${LAGSCALE_NAMESPACE}: Deployment lagscale-controller, pods ${pods.map((p) => `${p.name}${p.leader ? " (leader)" : ""}`).join(", ")}`,
      );
      note(
        "Service lagscale-webhook (every replica): the API server calls the validating webhook and the sidecar",
      );
      note(
        "injector through it; Service lagscale-reports (the pod labelled lagscale.io/leader=true): sidecars report there",
      );
      note(
        args.noSidecar
          ? "polling only: report receiver off, end-offset watch off (--reports=off --end-offset-watch-interval=0)"
          : `end-offset watch every 1 s; the leader's /metrics at ${leader.ip}:${METRICS_PORT}`,
      );
      note(`pod logs: ${show(path.join(stack.dir, "pods", LAGSCALE_NAMESPACE))}/<pod>/controller.log`);
    }
  }
  interrupted();

  // 4. The apps.
  step(4, "the producer and the consumer (demo-apps/manifests)");
  const local = startingAtZero(
    forLocalStack(loadManifests(path.join(repoRoot, "demo-apps", "manifests")), stack.bootstrapServers),
  );
  const objects = args.noSidecar ? withSidecarOptOut(local) : local;
  note(
    `KAFKA_BROKER ${"my-cluster-kafka-bootstrap.kafka.svc.cluster.local:9092"} -> ${stack.bootstrapServers.join(",")}`,
  );
  note(
    `the producer listens on its pod IP ($(POD_IP):${PRODUCER_PORT}): on the local stack every pod is a local process`,
  );
  note(
    `${CONSUMER} starts at 0 replicas: its pods must be created after the ScaledObject, which the injector reads`,
  );
  for (const obj of objects) {
    await apply(kube, obj);
    if (obj.kind === "Namespace") state.namespaceCreated = true;
    note(`${describeObject(obj)} applied`);
  }
  note(
    args.noSidecar
      ? `--no-sidecar: the consumer's pods carry ${INJECT_KEY}: disabled; lagscale polls Kafka every pollingInterval, as KEDA does`
      : `the consumer's pod template carries only the label and annotation ${INJECT_KEY}: enabled; the sidecar`,
  );
  if (!args.noSidecar)
    note("(a native sidecar) is added to each pod by lagscale's mutating webhook when the pod is created");
  const producerIp = await waitForApps(kube, objects);
  interrupted();

  // 5. The ScaledObject.
  step(5, "the talk's ScaledObject (apiVersion lagscale.io/v1alpha1)");
  const so = scaledObject(path.join(repoRoot, "demo-apps", "manifests"), stack.bootstrapServers);
  await apply(kube, so);
  note(
    `${describeObject(so)} applied: ${CONSUMER} between 0 (idle) / 1 and ${MAX_REPLICAS} replicas, lagThreshold 10,`,
  );
  note("pollingInterval 10 s, cooldownPeriod 30 s, group g1 on my-topic, offsetResetPolicy latest");
  if (autoscaling) {
    await waitFor(
      "the ScaledObject's Ready condition",
      async () => ((await condition(kube, "Ready")) !== undefined ? true : undefined),
      30_000,
      signal,
    ).catch((err: unknown) => note(`(${describeError(err)})`));
  }
  await sleep(autoscaling ? 3_000 : 500, signal);
  const events = new EventFollower(kube, NAMESPACE);
  say("");
  note(`$ kubectl get scaledobjects -n ${NAMESPACE}`);
  for (const line of await kubectlGet(kube, "lagscale.io", "v1alpha1", NAMESPACE, "scaledobjects"))
    note(line);
  note(
    "(the talk: READY True, ACTIVE True, FALLBACK False; a group without commits counts 1 lag per partition with",
  );
  note(" offsetResetPolicy latest, so 5 partitions give lag 5: active, at minReplicaCount 1)");
  if (autoscaling && !args.noSidecar) await showInjected(kube);
  await printEvents(events, "events so far");
  interrupted();

  // 6. The request and the live view.
  step(6, `one request to the producer: GET /?count=${args.count}`);
  note(
    "the talk curls the Service from inside the cluster; this runner is no pod (on the local stack Service names",
  );
  note("resolve for pods' programs only), so the request goes to the producer pod's IP");
  note(`$ curl 'http://${producerIp}:${PRODUCER_PORT}/?count=${args.count}'`);
  const requestAt = Date.now();
  const res = await fetch(`http://${producerIp}:${PRODUCER_PORT}/?count=${args.count}`, {
    signal: AbortSignal.any([signal, AbortSignal.timeout(120_000)]),
  });
  const body = await res.text();
  note(`${res.status} ${body.trim()} (${Date.now() - requestAt} ms)`);
  if (!res.ok) throw new Error(`the producer answered ${res.status}: ${body}`);

  step(7, `live view until the consumer is back at 0 (timeout ${args.timeoutSeconds} s)`);
  if (!autoscaling)
    note("autoscaling is NOT running: this only shows the lag going down at the manifest's 1 replica");
  const reports = autoscaling && !args.noSidecar ? state.controller : undefined;
  const tracker = await liveView(kube, admin, events, requestAt, args, autoscaling, reports);

  step(8, signal.aborted ? "summary (interrupted)" : "summary");
  for (const line of tracker.summary(autoscaling, args.count)) note(line);
  note(`whole demo so far: ${secs(Date.now() - t0)}`);
}

/** Waits for the producer to be ready (its pod IP) and the consumer's pod to run; maps images if needed. */
async function waitForApps(kube: Kube, objects: KubernetesObject[]): Promise<string> {
  let patched = false;
  const deployments = objects.filter((o): o is V1Deployment => o.kind === "Deployment");
  return waitFor(
    "the producer to be ready",
    async () => {
      const pods = (await kube.core.listNamespacedPod({ namespace: NAMESPACE })).items;
      for (const pod of pods) {
        const problem = podProblem(pod);
        if (!problem) continue;
        if (!patched && /image map/.test(problem.message)) {
          patched = true;
          note(
            "the running pod runner started before the demo images were in its map (restart the stack with",
          );
          note(
            "`npm run stack -- down` to use them); running the same sources through lagscale.local/node instead",
          );
          for (const d of deployments) {
            const patch = sourceImagePatch(d);
            const c = d.spec?.template.spec?.containers[0];
            if (!patch || !c) continue;
            c.image = patch.image;
            c.args = patch.args;
            await apply(kube, d);
          }
          return undefined;
        }
        if (!/image map/.test(problem.message)) {
          throw new Error(`pod ${pod.metadata?.name}: ${problem.reason}: ${problem.message}`);
        }
      }
      const d = await kube.apps.readNamespacedDeployment({ name: PRODUCER, namespace: NAMESPACE });
      if ((d.status?.availableReplicas ?? 0) < 1) return undefined;
      const ready = pods.find(
        (p) =>
          p.metadata?.labels?.app === PRODUCER &&
          !p.metadata?.deletionTimestamp &&
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      const ip = ready?.status?.podIP;
      if (!ip) return undefined;
      note(`${PRODUCER} ready at ${ip}:${PRODUCER_PORT}`);
      return ip;
    },
    120_000,
    signal,
  );
}

/** The first consumer pod as the API server stored it (`kubectl get pod -o yaml`, trimmed to what the injector added). */
async function showInjected(kube: Kube): Promise<void> {
  const pods = await waitFor(
    `a ${CONSUMER} pod`,
    async () => {
      const list = await kube.core.listNamespacedPod({
        namespace: NAMESPACE,
        labelSelector: `app=${CONSUMER}`,
      });
      return list.items.length > 0 ? list.items : undefined;
    },
    30_000,
    signal,
  ).catch(() => undefined);
  const pod = pods?.[0];
  if (!pod) return;
  const sidecar = pod.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER);
  say("");
  note(`$ kubectl get pod -n ${NAMESPACE} ${pod.metadata?.name} -o yaml   (trimmed)`);
  if (!sidecar) {
    note(`no ${SIDECAR_CONTAINER} in the pod: see the Events of Deployment ${CONSUMER} (InjectionSkipped)`);
    return;
  }
  const env = (sidecar.env ?? []).map((e) =>
    e.value !== undefined
      ? `${e.name}=${e.name === "LAGSCALE_REPORT_CA" ? "<the CA's PEM>" : e.value}`
      : `${e.name} from ${e.valueFrom?.fieldRef ? e.valueFrom.fieldRef.fieldPath : "a reference"}`,
  );
  const lines = [
    `metadata.annotations["${INJECT_STATUS_ANNOTATION}"]: ${pod.metadata?.annotations?.[INJECT_STATUS_ANNOTATION] ?? "(none)"}`,
    `spec.initContainers[0]: name ${sidecar.name}, image ${sidecar.image}, restartPolicy ${sidecar.restartPolicy}`,
    ...env.map((e) => `  env ${e}`),
    `  resources ${JSON.stringify(sidecar.resources)}`,
    `  volumeMounts ${JSON.stringify(sidecar.volumeMounts)}`,
    `spec.volumes: ${JSON.stringify(pod.spec?.volumes?.filter((v) => v.projected?.sources?.some((x) => x.serviceAccountToken?.audience?.startsWith("lagscale"))))}`,
  ];
  for (const line of lines) note(line);
}

async function condition(kube: Kube, type: string): Promise<string | undefined> {
  const so = await kube.objects.read<
    KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }
  >({
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "kafka-scaledobject", namespace: NAMESPACE },
  });
  return so.status?.conditions?.find((c) => c.type === type)?.status;
}

/** The pods' reported states from the leader's /metrics; undefined when it cannot be read. */
async function reported(controller: InstalledController): Promise<PodReport[] | undefined> {
  try {
    const leader = (await controller.pods()).find((p) => p.leader && p.ip);
    if (!leader) return undefined;
    const res = await fetch(`http://${leader.ip}:${METRICS_PORT}/metrics`, {
      signal: AbortSignal.timeout(1_500),
    });
    return res.ok ? reportedPods(await res.text(), `${NAMESPACE}/${SCALED_OBJECT}`) : undefined;
  } catch {
    return undefined;
  }
}

async function sample(
  kube: Kube,
  admin: Admin,
  requestAt: number,
  reports: InstalledController | undefined,
): Promise<Sample> {
  const [d, pods, lags, active, states] = await Promise.all([
    kube.apps.readNamespacedDeployment({ name: CONSUMER, namespace: NAMESPACE }),
    kube.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${CONSUMER}` }),
    readLag(admin, TOPIC, GROUP).catch(() => undefined),
    condition(kube, "Active").catch(() => undefined),
    reports ? reported(reports) : undefined,
  ]);
  return {
    ...(reports ? { reported: states ?? [] } : {}),
    sinceRequestMs: Date.now() - requestAt,
    desired: d.spec?.replicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
    pods: pods.items.length,
    lags,
    active,
  };
}

async function printEvents(events: EventFollower, title: string): Promise<void> {
  try {
    const lines = (await events.next()).filter(interesting).map(eventLine);
    if (lines.length > 0) note(`${title}:`);
    for (const line of lines) say(line);
  } catch {
    // events are a bonus
  }
}

async function liveView(
  kube: Kube,
  admin: Admin,
  events: EventFollower,
  requestAt: number,
  args: DemoArgs,
  autoscaling: boolean,
  reports: InstalledController | undefined,
): Promise<Tracker> {
  const tracker = new Tracker(MAX_REPLICAS);
  const deadline = requestAt + args.timeoutSeconds * 1000;
  say(reports ? SIDECAR_HEADER : HEADER);
  while (!signal.aborted) {
    const tick = Date.now();
    try {
      const s = await sample(kube, admin, requestAt, reports);
      tracker.add(s);
      say(sampleLine(new Date(), s));
    } catch (err) {
      say(`${clock(new Date())}  (could not read the state: ${describeError(err)})`);
    }
    try {
      for (const e of await events.next()) if (interesting(e)) say(eventLine(e));
    } catch {
      // events are a bonus; the next tick tries again
    }
    if (tracker.done(autoscaling)) break;
    if (Date.now() > deadline) {
      say(
        `timeout: ${args.timeoutSeconds} s after the request and the consumer is not back at 0 (--timeout S)`,
      );
      break;
    }
    await sleep(Math.max(0, TICK_MS - (Date.now() - tick)), signal);
  }
  return tracker;
}

async function cleanUp(state: State, keep: boolean): Promise<void> {
  const kubectl = state.stack
    ? path.join(String((state.stack.kube.handle as { binDir?: string }).binDir ?? ""), "kubectl")
    : "kubectl";
  const kc = state.stack ? show(state.stack.kubeconfig) : "";
  if (keep) {
    say("\n== left running (--keep)");
    note(`$ ${kubectl} --kubeconfig ${kc} -n ${NAMESPACE} get scaledobjects,deployments,pods`);
    if (state.stack)
      note(`pod logs: ${show(path.join(state.stack.dir, "pods", NAMESPACE))}/<pod>/<container>.log`);
    if (state.controller) {
      note(`$ ${kubectl} --kubeconfig ${kc} -n ${LAGSCALE_NAMESPACE} get pods --show-labels`);
    }
    note(
      "`npm run demo` again starts over: it deletes the namespace, recreates the topic, installs lagscale again",
    );
  } else if (state.kube) {
    say("\n== clean-up");
    if (!state.controller || !(await state.controller.pods().catch(() => [])).some((p) => p.leader)) {
      // nothing would remove the controller's finalizer, and the namespace would never go
      await removeFinalizers(state.kube, NAMESPACE).catch(() => undefined);
    }
    if (state.namespaceCreated || (await namespaceExists(state.kube, NAMESPACE).catch(() => false))) {
      note(`deleting namespace ${NAMESPACE} (its pods stop with their grace periods)`);
      await deleteNamespace(state.kube, NAMESPACE).catch((err: unknown) => note(`!! ${describeError(err)}`));
    }
    if (state.controller) {
      note(`uninstalling lagscale's controller (namespace ${LAGSCALE_NAMESPACE}, its RBAC and webhooks)`);
      await state.controller.uninstall().catch((err: unknown) => note(`!! ${describeError(err)}`));
    }
    if (state.admin && state.topicCreated) {
      await deleteGroup(state.admin, GROUP).catch((err: unknown) => note(`!! ${describeError(err)}`));
      await state.admin
        .deleteTopics({ topics: [TOPIC], timeout: 30_000 })
        .then(() => note(`deleted topic ${TOPIC} and group ${GROUP}`))
        .catch((err: unknown) => note(`!! deleting topic ${TOPIC}: ${describeError(err)}`));
    }
    note("the CRDs stay installed (other ScaledObjects on this stack may use them)");
  }
  await state.admin?.disconnect().catch(() => undefined);
  if (state.stack)
    note("the local stack is still up (the next run reuses it); stop it with `npm run stack -- down`");
}

async function run(): Promise<number> {
  let args: DemoArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${errorText(err)}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    say(USAGE);
    return 0;
  }
  const state: State = { namespaceCreated: false, topicCreated: false };
  let firstSignalAt: number | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    // Ctrl-C reaches the whole process group, and tsx relays it to this process too: one press can arrive twice
    if (firstSignalAt !== undefined && Date.now() - firstSignalAt < 1_500) return;
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      say(`\n${sig}: stopping and cleaning up (press Ctrl-C again to leave everything as it is)`);
      aborter.abort();
    } else {
      say(
        `${sig} again: exiting without cleaning up; \`npm run demo\` starts over, \`npm run stack -- down\` stops all`,
      );
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  say(
    `lagscale demo: the talk's KEDA Kafka demo on the local stack (count=${args.count}, timeout ${args.timeoutSeconds} s${args.keep ? ", --keep" : ""}${args.noSidecar ? ", --no-sidecar: polling only" : ", with the sidecar"})`,
  );
  let code = 0;
  try {
    await main(args, state);
  } catch (err) {
    code = signal.aborted ? 130 : 1;
    if (!signal.aborted) say(`\ndemo failed: ${describeError(err)}`);
  }
  if (signal.aborted) code = 130;
  await cleanUp(state, args.keep && !signal.aborted).catch((err: unknown) => {
    say(`clean-up failed: ${describeError(err)}`);
    code ||= 1;
  });
  return code;
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
