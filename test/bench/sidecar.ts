/**
 * `npm run bench -- sidecar`: lagscale as it ships (consumer pods with the sidecar, the controller with the
 * report receiver and the end-offset watch) against polling only (pollingInterval 10, `--reports=off`,
 * `--end-offset-watch-interval=0`, no sidecar), the same bursts side by side on the local stack: time from a
 * burst to the `/scale` write at 1 and at 3 running replicas; Kafka requests per second of controller plus
 * sidecars, idle and busy, and per pod; then the sidecar's own RSS and CPU (compiled JS, test/bench/sidecar-
 * cost.ts). A benchmark, not a test: it prints `bench: <name> = <value> <unit>` lines (docs/reaction.md reads
 * them) and fails only when it cannot run.
 *
 * Each side has two ScaledObjects (start at 1 and at 3 replicas; lagThreshold 10, 5 partitions, max one more
 * than the start so that a burst adds one pod, not four, on a small machine). With reports the pods run the
 * demo consumer (SLEEP=1: one message a second per pod, so the lag stays for the whole measurement and drains
 * before the next burst) with the sidecar beside it, built by `withSidecar`; with polling only they sleep,
 * and the lag is reset by committing at the end. Bursts of 30 (from 1: asks for 3) and 60 messages (from 3:
 * asks for 6), each at a random moment of its own slice of the poll period and of the second, BENCH_BURSTS (default 5) times; BENCH_IDLE_S (default
 * 30) seconds of idle request counting first, and each burst's first BUSY_S seconds count as busy.
 */
import type { V1PodSpec } from "@kubernetes/client-node";
import type { Kafka } from "kafkajs";
import { withSidecar } from "../../controller/inject/sidecar.js";
import type { KubeRest } from "../../controller/kube/index.js";
import { startWithReceiver } from "../controller/reports-support.js";
import { createTopic } from "../stack/kafka/index.js";
import type { StackInfo } from "../stack/types.js";
import {
  commitAtEnd,
  consumerDeployment,
  createDeployment,
  createNamespace,
  createScaledObject,
  installCrds,
  kafka,
  kafkaTrigger,
  kubeRest,
  produce,
  scaledObject,
  setDeploymentReplicas,
  sleeperDeployment,
  startController,
  withAdmin,
  type ControllerProcess,
  type TestNamespace,
} from "../support/controller.js";
import { waitFor } from "../support/wait.js";
import { counterTotal } from "../support/prom-text.js";
import { compileController } from "./compiled.js";
import {
  atRandomMomentOfPoll,
  envInt,
  POLL_S,
  scaleWrites,
  shuffled,
  sleep,
  type ReactionBenchIO,
} from "./reaction.js";
import { buildSidecar, measureSidecarCost, metricSeries, total } from "./sidecar-cost.js";

const BUSY_S = 10;
const SIDECAR_METRICS_PORT = 9464; // the sidecar's default, on its pod IP
const MiB = 1024 * 1024;

type Mode = "reports" | "polling";

interface Scenario {
  mode: Mode;
  ns: TestNamespace;
  controller: ControllerProcess;
  start: 1 | 3;
  name: string;
  topic: string;
  group: string;
  burst: number;
  /** Seconds from the produce to the first `/scale` write. */
  first: number[];
  /** What started the evaluation that wrote first: a report, the end-offset watch, or the poll. */
  cause: string[];
}

/** The first early call for the object in the log from `from` on, before `until`: report or watch. */
function firstCause(c: ControllerProcess, from: number, scaledObject: string, until: number): string {
  for (const l of c.logs.slice(from)) {
    if (Date.parse(String(l.time)) > until) break;
    if (l.scaledObject !== scaledObject) continue;
    if (l.msg === "report accepted; evaluating at once") return "report";
    if (l.msg === "early evaluation: log-end offsets grew between polls") return "watch";
  }
  return "poll";
}

/** Kafka requests sent so far: the controller's lag reader and end-offset watch, and each sidecar by pod. */
interface Requests {
  controller: number;
  sidecars: Map<string, number>;
}

interface Window {
  seconds: number;
  controller: number;
  sidecars: number;
  /** Sidecar pods counted (pod-seconds / seconds). */
  pods: number;
}

async function controllerRequests(c: ControllerProcess): Promise<number> {
  const text = await c.metrics();
  return (
    counterTotal(text, "lagscale_kafka_requests_total") +
    counterTotal(text, "lagscale_end_offset_watch_requests_total")
  );
}

/** Each running pod's sidecar counter of Kafka requests, read from its metrics port on the pod IP. */
async function sidecarRequests(rest: KubeRest, ns: string): Promise<Map<string, number>> {
  const list = await rest.get<{
    items: { metadata: { name: string }; status?: { phase?: string; podIP?: string } }[];
  }>(`/api/v1/namespaces/${ns}/pods`);
  const out = new Map<string, number>();
  await Promise.all(
    list.items
      .filter((p) => p.status?.phase === "Running" && p.status.podIP)
      .map(async (p) => {
        try {
          const res = await fetch(`http://${p.status!.podIP!}:${SIDECAR_METRICS_PORT}/metrics`, {
            signal: AbortSignal.timeout(2000),
          });
          out.set(
            p.metadata.name,
            total(metricSeries(await res.text(), "lagscale_sidecar_kafka_requests_total")),
          );
        } catch {
          // A sidecar still starting: it has sent nothing worth counting yet.
        }
      }),
  );
  return out;
}

async function requests(rest: KubeRest, c: ControllerProcess, ns: string | undefined): Promise<Requests> {
  const [controller, sidecars] = await Promise.all([
    controllerRequests(c),
    ns ? sidecarRequests(rest, ns) : Promise.resolve(new Map<string, number>()),
  ]);
  return { controller, sidecars };
}

/** Adds what happened between two readings to a window; a pod new in `after` counts from 0 (its start-up). */
function accumulate(w: Window, before: Requests, after: Requests, seconds: number): void {
  w.seconds += seconds;
  w.controller += after.controller - before.controller;
  for (const [pod, n] of after.sidecars) w.sidecars += n - (before.sidecars.get(pod) ?? 0);
  w.pods += after.sidecars.size * seconds;
}

const emptyWindow = (): Window => ({ seconds: 0, controller: 0, sidecars: 0, pods: 0 });

/** Lag of the group on the topic (nothing committed counts as the whole partition). */
async function groupLag(k: Kafka, group: string, topic: string): Promise<number> {
  return withAdmin(k, async (admin) => {
    const [ends, [committed]] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
    ]);
    return ends.reduce((sum, e) => {
      const c = Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
      return sum + Number(e.high) - Math.max(0, c);
    }, 0);
  });
}

/** Waits until the group is Stable with `members` members (after a scale-in, the pods gone have left). */
async function stableGroup(k: Kafka, group: string, members: number, timeoutMs: number): Promise<void> {
  await waitFor(
    `group ${group} Stable with ${members} members`,
    () =>
      withAdmin(k, async (admin) => {
        const { groups } = await admin.describeGroups([group]);
        const g = groups[0];
        return g?.state === "Stable" && g.members.length === members ? true : undefined;
      }),
    timeoutMs,
    500,
  );
}

/** The demo consumer with the sidecar beside it, reporting to the receiver in plain HTTP on the host. */
function consumerWithSidecar(
  stack: StackInfo,
  s: { namespace: string; name: string; replicas: number; topic: string; group: string },
  reportUrl: string,
): Record<string, unknown> {
  const d = consumerDeployment({
    ...s,
    brokers: stack.bootstrapServers,
    sleepSeconds: 1,
  }) as { spec: { template: { spec: V1PodSpec } } };
  d.spec.template.spec = withSidecar(d.spec.template.spec, {
    image: "lagscale/sidecar:dev",
    scaledObject: s.name,
    bootstrapServers: stack.bootstrapServers.join(","),
    consumerGroup: s.group,
    topic: s.topic,
    lagThreshold: 10,
    reportUrl,
    // Pods share the host's network on the stack: each sidecar listens on its own pod IP.
    bindAddress: "$(POD_IP)",
    env: [{ name: "LOG_LEVEL", value: "warn" }],
  });
  return d as unknown as Record<string, unknown>;
}

export async function runSidecarBench(stack: StackInfo, io: ReactionBenchIO): Promise<void> {
  const bursts = envInt("BENCH_BURSTS", 5);
  const idleS = envInt("BENCH_IDLE_S", 30);
  const t = Date.now();
  const compiled = await compileController();
  io.figure("reaction-compile", (Date.now() - t) / 1000, "s");
  const rest = kubeRest(stack);
  const k = kafka(stack.bootstrapServers);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    await installCrds(stack);
    const nsReports = await createNamespace(stack, "bench-reports");
    cleanups.push(nsReports.remove);
    const nsPoll = await createNamespace(stack, "bench-poll");
    cleanups.push(nsPoll.remove);
    // startController gives --log-level=debug (a second --log-level is refused); the bench reads info lines only.
    const common = { stack, compiledMain: compiled.main };
    const { controller: withReports, port } = await startWithReceiver({
      ...common,
      name: `bench-reports-${nsReports.name}`,
      watchNamespaces: [nsReports.name],
    });
    cleanups.push(async () => void (await withReports.stop()));
    const polling = await startController({
      ...common,
      name: `bench-poll-${nsPoll.name}`,
      watchNamespaces: [nsPoll.name],
      extraArgs: ["--reports=off", "--end-offset-watch-interval=0"],
    });
    cleanups.push(async () => void (await polling.stop()));
    const reportUrl = `http://127.0.0.1:${port}/v1/reports`;

    const scenarios: Scenario[] = [];
    for (const [mode, ns, controller] of [
      ["reports", nsReports, withReports],
      ["polling", nsPoll, polling],
    ] as const) {
      for (const start of [1, 3] as const) {
        const name = `from-${start}`;
        const topic = `bench-${ns.name}-${name}`;
        const group = `g-${topic}`;
        await withAdmin(k, async (admin) => {
          await createTopic(admin, topic, 5);
          await commitAtEnd(admin, group, topic);
        });
        await createDeployment(
          rest,
          mode === "reports"
            ? consumerWithSidecar(
                stack,
                { namespace: ns.name, name, replicas: start, topic, group },
                reportUrl,
              )
            : sleeperDeployment(ns.name, name, start),
        );
        await createScaledObject(
          rest,
          scaledObject({
            namespace: ns.name,
            name,
            target: name,
            spec: {
              pollingInterval: POLL_S,
              cooldownPeriod: 300,
              minReplicaCount: start,
              maxReplicaCount: start + 1,
              advanced: {
                horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
              },
            },
            triggers: [kafkaTrigger({ brokers: stack.bootstrapServers, group, topic, lagThreshold: 10 })],
          }),
        );
        scenarios.push({
          mode,
          ns,
          controller,
          start,
          name,
          topic,
          group,
          burst: start === 1 ? 30 : 60,
          first: [],
          cause: [],
        });
      }
    }
    const reporting = scenarios.filter((s) => s.mode === "reports");
    await Promise.all(reporting.map((s) => stableGroup(k, s.group, s.start, 180_000)));
    // The first reports: every sidecar has found its partitions and pushed, and none was refused.
    await waitFor(
      "a report accepted from every pod",
      async () => {
        const received = metricSeries(await withReports.metrics(), "lagscale_reports_received_total");
        const refused = [...received].filter(([k, n]) => !k.includes('code="200"') && n > 0);
        if (refused.length > 0)
          throw new Error(`reports refused: ${refused.map(([k, n]) => `${k} ${n}`).join(", ")}`);
        return (received.get('lagscale_reports_received_total{code="200"}') ?? 0) >= 4 ? true : undefined;
      },
      60_000,
      500,
    );
    await sleep(POLL_S * 1000);

    const read = (mode: Mode) =>
      mode === "reports" ? requests(rest, withReports, nsReports.name) : requests(rest, polling, undefined);
    const idle = { reports: emptyWindow(), polling: emptyWindow() };
    const busy = { reports: emptyWindow(), polling: emptyWindow() };
    {
      const before = { reports: await read("reports"), polling: await read("polling") };
      const t0 = Date.now();
      await sleep(idleS * 1000);
      const s = (Date.now() - t0) / 1000;
      accumulate(idle.reports, before.reports, await read("reports"), s);
      accumulate(idle.polling, before.polling, await read("polling"), s);
    }

    const [order, within] = [shuffled(bursts), shuffled(bursts)];
    for (let b = 0; b < bursts; b++) {
      if (b > 0) {
        // Reset: the consumers drain their lag (polling's lag is committed away), replicas back to the start;
        // then one full poll period so every controller saw it, and the groups settled after the scale-in.
        await Promise.all(
          scenarios.map(async (s) => {
            if (s.mode === "polling") await withAdmin(k, (admin) => commitAtEnd(admin, s.group, s.topic));
            else
              await waitFor(
                `${s.ns.name}/${s.name} lag 0`,
                async () => ((await groupLag(k, s.group, s.topic)) === 0 ? true : undefined),
                180_000,
                1000,
              );
            await setDeploymentReplicas(rest, s.ns.name, s.name, s.start);
          }),
        );
        await sleep(16_000);
        await Promise.all(reporting.map((s) => stableGroup(k, s.group, s.start, 120_000)));
      }
      const phase = await atRandomMomentOfPoll(order[b]!, within[b]!, bursts);
      const marks = scenarios.map((s) => s.controller.logs.length);
      const before = { reports: await read("reports"), polling: await read("polling") };
      const producedAt = Date.now();
      await Promise.all(scenarios.map((s) => produce(k, s.topic, s.burst)));
      await sleep(BUSY_S * 1000 - (Date.now() - producedAt));
      const s = (Date.now() - producedAt) / 1000;
      accumulate(busy.reports, before.reports, await read("reports"), s);
      accumulate(busy.polling, before.polling, await read("polling"), s);
      await sleep(2.5 * POLL_S * 1000 - (Date.now() - producedAt));
      scenarios.forEach((sc, i) => {
        const first = scaleWrites(sc.controller, marks[i]!, `${sc.ns.name}/${sc.name}`)[0];
        if (first) {
          sc.first.push((first.at - producedAt) / 1000);
          sc.cause.push(firstCause(sc.controller, marks[i]!, `${sc.ns.name}/${sc.name}`, first.at));
        } else io.note(`burst ${b + 1}: ${sc.mode} ${sc.ns.name}/${sc.name} wrote nothing`);
      });
      io.note(
        `burst ${b + 1}/${bursts} at ${(phase / 1000).toFixed(1)} s into the poll period: ${scenarios.map((sc) => `${sc.mode} from ${sc.start}: ${sc.first.at(-1)?.toFixed(2) ?? "-"} s (${sc.cause.at(-1) ?? "-"})`).join(", ")}`,
      );
    }

    const p = (values: number[], q: number) => (values.length > 0 ? io.percentile(values, q) : Number.NaN);
    const get = (mode: Mode, start: 1 | 3) => scenarios.find((s) => s.mode === mode && s.start === start)!;
    io.figure("reaction-with-reports-p50", p(get("reports", 1).first, 50), "s");
    io.figure("reaction-with-reports-p90", p(get("reports", 1).first, 90), "s");
    io.figure("reaction-with-reports-3-replicas-p50", p(get("reports", 3).first, 50), "s");
    io.figure("reaction-with-reports-3-replicas-p90", p(get("reports", 3).first, 90), "s");
    io.figure("reaction-polling-p50", p(get("polling", 1).first, 50), "s");
    io.figure("reaction-polling-p90", p(get("polling", 1).first, 90), "s");
    io.figure("reaction-polling-3-replicas-p50", p(get("polling", 3).first, 50), "s");
    io.figure("reaction-polling-3-replicas-p90", p(get("polling", 3).first, 90), "s");
    io.figure("reaction-bursts", bursts, "count");
    for (const sc of scenarios.filter((x) => x.mode === "reports"))
      io.note(`reports from ${sc.start}: first write started by ${sc.cause.join(", ")}`);
    // Which path answered the bursts on the reports side: a report, or the end-offset watch.
    const m = await withReports.metrics();
    io.figure(
      "reports-early-evaluations",
      counterTotal(m, "lagscale_report_early_evaluations_total"),
      "count",
    );
    io.figure("watch-early-evaluations", counterTotal(m, "lagscale_early_evaluations_total"), "count");
    io.figure("reaction-ratio", p(get("polling", 1).first, 50) / p(get("reports", 1).first, 50), "x");
    io.figure(
      "reaction-ratio-3-replicas",
      p(get("polling", 3).first, 50) / p(get("reports", 3).first, 50),
      "x",
    );

    for (const [state, w] of [
      ["idle", idle],
      ["busy", busy],
    ] as const) {
      for (const mode of ["reports", "polling"] as const) {
        const x = w[mode];
        io.figure(
          `kafka-requests-per-s-${mode}-${state}`,
          (x.controller + x.sidecars) / x.seconds,
          "requests/s",
        );
        io.figure(`kafka-requests-per-s-${mode}-${state}.controller`, x.controller / x.seconds, "requests/s");
        if (mode === "reports") {
          io.figure(`kafka-requests-per-s-${mode}-${state}.sidecars`, x.sidecars / x.seconds, "requests/s");
          io.figure(`sidecar-pods-${state}`, x.pods / x.seconds, "count");
        }
      }
    }
    // Per added pod: only the sidecars grow with the pods (the controller reads per ScaledObject, not per pod).
    io.figure("kafka-requests-per-s-per-added-pod", busy.reports.sidecars / busy.reports.pods, "requests/s");
    io.figure(
      "kafka-requests-per-s-per-added-pod-idle",
      idle.reports.sidecars / idle.reports.pods,
      "requests/s",
    );
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => io.note(`clean-up: ${String(e)}`));
    rest.close();
    compiled.remove();
  }

  // The sidecar's own cost, as it ships (compiled JS), in a process of its own after the pods are gone.
  await buildSidecar();
  const cost = await measureSidecarCost(
    envInt("BENCH_SIDECAR_IDLE_S", 30),
    envInt("BENCH_SIDECAR_BUSY_S", 15),
  );
  io.figure("sidecar-rss", cost.idle.rss / MiB, "MiB");
  io.figure("sidecar-rss-max", Math.max(cost.idle.maxRss, cost.withLag.maxRss) / MiB, "MiB");
  io.figure("sidecar-cpu", cost.idle.cpuPercent, "%");
  io.figure("sidecar-cpu-with-lag", cost.withLag.cpuPercent, "%");
  io.figure("sidecar-kafka-requests-per-s-idle", cost.idle.kafkaRequests / cost.idle.seconds, "requests/s");
  io.figure(
    "sidecar-kafka-requests-per-s-with-lag",
    cost.withLag.kafkaRequests / cost.withLag.seconds,
    "requests/s",
  );
}
