/**
 * The Helm chart (charts/lagscale), checked with a real helm built from the Go module proxy and on the local
 * stack's real API server and pods:
 * - `helm lint --strict`, and `helm template` with default and non-default values; values the schema
 *   refuses are refused by helm;
 * - the rendered webhook configurations equal what controller/webhook/config.ts renders, and the rendered
 *   Deployment's flags and env are accepted by the controller's own config parser;
 * - RBAC without wildcards, security contexts, and every rendered object accepted by the API server
 *   (server-side dry run: its OpenAPI schemas and the CRDs');
 * - `helm install` into a namespace of the test's own: two controller pods run and one leads, the
 *   validating webhook answers through its Service, an opted-in consumer gets the sidecar and its
 *   ScaledObject scales it; `helm upgrade` keeps the certificates; `helm uninstall` leaves only the CRDs.
 * - where the stack's pod runner has a container engine and the images are built, the controller and the
 *   sidecar run from `lagscale/controller:dev` and `lagscale/sidecar:dev`: their processes (through /proc)
 *   run as the image's user 1000 with a read-only root and the pod's env, and the controller's /metrics
 *   reports the commit the image build wrote into its env. Their RSS at idle and the time from `helm
 *   install` to the first scaling are printed.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { SIDECAR_CONTAINER } from "../../controller/inject/sidecar.js";
import { LEADER_LABEL } from "../../controller/leader/pod-label.js";
import type { KubeRest } from "../../controller/kube/index.js";
import {
  consumerDeployment,
  createDeployment,
  createNamespace,
  createScaledObject,
  createTestTopic,
  installCrds,
  kafka,
  kafkaTrigger,
  kubectlPath,
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
import { podRunnerMissing } from "../support/kube.js";
import { loadStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import { uniqueName } from "../stack/kafka/client.js";
import { cacheDir } from "../stack/paths.js";
import {
  CHART_DIR,
  controllerConfigOf,
  expectedWebhookConfigs,
  findObject,
  helmValueArgs,
  renderChart,
  withoutAnnotations,
  type K8sObject,
  type WebhookExpectation,
} from "../stack/helm/chart.js";
import { ensureHelm, runHelm } from "../stack/helm/helm.js";
import { engineCommand, runnerEngine } from "../stack/pod-runner/index.js";
import { containerFacts, imageEnv } from "./container-facts.js";

const stack = loadStack();
const LOCAL_VALUES = path.join(path.dirname(fileURLToPath(import.meta.url)), "local-stack.values.yaml");
const scratch = mkdtempSync(path.join(tmpdir(), "lagscale-chart-"));
const execFileAsync = promisify(execFile);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Non-default values touching every optional part of the chart. */
const NON_DEFAULT = {
  replicaCount: 3,
  watchNamespaces: ["team-a", "team-b"],
  bindAddress: "$(POD_IP)",
  logLevel: "warn",
  maxConcurrentReconciles: 8,
  endOffsetWatchInterval: "0",
  leaderElection: { leaseDuration: "20s", renewDeadline: "12s", retryPeriod: "3s" },
  ports: { metrics: 9090, health: 9091, webhook: 10443, reports: 10444 },
  webhooks: {
    failurePolicy: "Fail",
    timeoutSeconds: 7,
    inject: { timeoutSeconds: 3, excludeNamespaces: ["batch"] },
  },
  sidecar: {
    image: { repository: "registry.example/lagscale-sidecar", tag: "1.2.3" },
    bindAddress: "$(POD_IP)",
  },
  image: { repository: "registry.example/lagscale", tag: "1.2.3", pullPolicy: "Always" },
  serviceAccount: { name: "scaler", annotations: { "example.com/role": "scaler" } },
  podDisruptionBudget: { minAvailable: 2 },
  metrics: { serviceMonitor: { enabled: true }, dashboard: { enabled: true } },
  networkPolicy: {
    enabled: true,
    metricsFrom: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
  },
  extraArgs: ["--shutdown-timeout=20s"],
  priorityClassName: "system-cluster-critical",
};

function kindsOf(objects: K8sObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

/** kubectl of the stack; its stdout (warnings and "No resources found" go to stderr). */
async function kubectl(args: string[], input?: string): Promise<string> {
  let file: string | undefined;
  if (input !== undefined) {
    file = path.join(scratch, `input-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, input);
  }
  const all = ["--kubeconfig", stack.kubeconfig, ...args.map((a) => (a === "-" && file ? file : a))];
  try {
    const { stdout } = await execFileAsync(kubectlPath(), all, {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 60_000,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.slice(0, 3).join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

let helm: string;

before(async () => {
  const started = Date.now();
  const built = await ensureHelm(cacheDir(), (line) => console.log(`helm: ${line}`));
  helm = built.helm;
  console.log(
    built.buildMs !== undefined
      ? `helm built from the Go module proxy in ${seconds(built.buildMs)}`
      : `helm found in the cache (${seconds(Date.now() - started)})`,
  );
});

describe("the chart renders and validates", () => {
  let defaults: K8sObject[];
  let custom: K8sObject[];
  let certManager: K8sObject[];

  before(async () => {
    defaults = await renderChart(helm, { release: "lagscale", namespace: "lagscale" });
    custom = await renderChart(helm, { release: "scaler", namespace: "autoscaling", setJson: NON_DEFAULT });
    certManager = await renderChart(helm, {
      release: "lagscale",
      namespace: "lagscale",
      setJson: { certificates: { certManager: { enabled: true } } },
    });
  });

  it("helm lint --strict passes with default and non-default values", async () => {
    const started = Date.now();
    for (const values of [[], helmValueArgs({ setJson: NON_DEFAULT }), ["-f", LOCAL_VALUES]]) {
      const out = await runHelm(helm, ["lint", "--strict", CHART_DIR, ...values]);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
    console.log(`helm lint, three sets of values: ${seconds(Date.now() - started)}`);
  });

  it("renders what a controller install needs, and the optional parts when asked", () => {
    assert.deepEqual(kindsOf(defaults), [
      "ClusterRole/lagscale-controller",
      "ClusterRoleBinding/lagscale-controller",
      "Deployment/lagscale-controller",
      "MutatingWebhookConfiguration/lagscale-sidecar-injector",
      "PodDisruptionBudget/lagscale-controller",
      "Role/lagscale-controller",
      "RoleBinding/lagscale-controller",
      "Secret/lagscale-serving-cert",
      "Service/lagscale-metrics",
      "Service/lagscale-reports",
      "Service/lagscale-webhook",
      "ServiceAccount/lagscale-controller",
      "ValidatingWebhookConfiguration/lagscale-validating",
    ]);
    const extra = kindsOf(custom).filter((k) => !/^(Role|RoleBinding)\//.test(k));
    for (const k of [
      "ServiceMonitor/scaler-lagscale-controller",
      "ConfigMap/scaler-lagscale-dashboard",
      "NetworkPolicy/scaler-lagscale-controller",
    ]) {
      assert.ok(extra.includes(k), `${k} missing from ${extra.join(", ")}`);
    }
    const cm = kindsOf(certManager);
    for (const k of ["Issuer/lagscale-selfsigned", "Certificate/lagscale-ca", "Issuer/lagscale-ca"]) {
      assert.ok(cm.includes(k), `${k} missing`);
    }
    assert.ok(cm.includes("Certificate/lagscale-serving-cert"));
    assert.ok(
      !cm.includes("Secret/lagscale-serving-cert"),
      "with cert-manager the chart makes no certificate",
    );
  });

  it("values the schema refuses are refused by helm, naming the key", async () => {
    for (const [set, key] of [
      ["replicaCount=0", "replicaCount"],
      ["webhooks.failurePolicy=Maybe", "failurePolicy"],
      ["leaderElection.leaseDuration=15", "leaseDuration"],
      ["replicas=3", "replicas"],
    ] as const) {
      await assert.rejects(runHelm(helm, ["template", "x", CHART_DIR, "--set", set]), (err: Error) => {
        assert.match(err.message, /values don't meet the specifications of the schema/);
        assert.match(err.message, new RegExp(key));
        return true;
      });
    }
  });

  it("the webhook configurations are what controller/webhook/config.ts renders", async () => {
    const none = { watchNamespaces: [], excludeNamespaces: [] };
    const custom2 = {
      webhooks: { failurePolicy: "Fail", inject: { excludeNamespaces: ["batch", "kube-system"] } },
    };
    const cases: [K8sObject[], WebhookExpectation][] = [
      [defaults, { fullname: "lagscale", namespace: "lagscale", ...none }],
      [
        custom,
        {
          fullname: "scaler-lagscale",
          namespace: "autoscaling",
          failurePolicy: "Fail",
          timeoutSeconds: 7,
          injectTimeoutSeconds: 3,
          watchNamespaces: NON_DEFAULT.watchNamespaces,
          excludeNamespaces: ["batch"],
        },
      ],
      [certManager, { fullname: "lagscale", namespace: "lagscale", ...none }],
      // excluded namespaces only matter when all namespaces are watched
      [
        await renderChart(helm, { release: "my-lagscale", namespace: "ops", setJson: custom2 }),
        {
          fullname: "my-lagscale",
          namespace: "ops",
          failurePolicy: "Fail",
          watchNamespaces: [],
          excludeNamespaces: ["batch", "kube-system"],
        },
      ],
    ];
    for (const [objects, expectation] of cases) {
      const validating = findObject(objects, "ValidatingWebhookConfiguration");
      const mutating = findObject(objects, "MutatingWebhookConfiguration");
      const want = expectedWebhookConfigs(validating, mutating, expectation);
      assert.deepEqual(withoutAnnotations(validating), want.validating);
      assert.deepEqual(withoutAnnotations(mutating), want.mutating);
    }
    // the chart-made CA is in both, and cert-manager is told to inject its CA instead
    const ca = (
      findObject(defaults, "ValidatingWebhookConfiguration").webhooks as {
        clientConfig: { caBundle?: string };
      }[]
    )[0]!.clientConfig.caBundle;
    assert.match(Buffer.from(ca ?? "", "base64").toString(), /BEGIN CERTIFICATE/);
    assert.equal(
      findObject(certManager, "MutatingWebhookConfiguration").metadata.annotations?.[
        "cert-manager.io/inject-ca-from"
      ],
      "lagscale/lagscale-serving-cert",
    );
  });

  it("the controller accepts the rendered Deployment's flags and env", async () => {
    const pod = { name: "lagscale-controller-5d9f-abcde", namespace: "lagscale", ip: "10.1.2.3" };
    const d = controllerConfigOf(defaults, pod, path.join(scratch, "defaults"));
    assert.ok(d.ok && !d.help, JSON.stringify(d));
    assert.equal(d.config.watchNamespaces, undefined);
    assert.equal(d.config.leaderElection.leaseName, "lagscale-controller");
    assert.equal(d.config.leaderElection.leaseNamespace, "lagscale");
    assert.equal(d.config.webhook.mode, "on");
    assert.equal(d.config.reports.mode, "https");
    assert.equal(d.config.inject.sidecarImage, "lagscale/sidecar:0.1.0");
    assert.equal(d.config.inject.reportUrl, "https://lagscale-reports.lagscale.svc:9444/v1/reports");

    const c = controllerConfigOf(custom, { ...pod, namespace: "autoscaling" }, path.join(scratch, "custom"));
    assert.ok(c.ok && !c.help, JSON.stringify(c));
    assert.deepEqual(c.config.watchNamespaces, ["team-a", "team-b"]);
    assert.equal(c.config.bindAddress, "10.1.2.3");
    assert.equal(c.config.inject.bindAddress, "10.1.2.3");
    assert.equal(c.config.metricsPort, 9090);
    assert.equal(c.config.healthPort, 9091);
    assert.equal(c.config.webhook.port, 10443);
    assert.equal(c.config.reports.port, 10444);
    assert.equal(c.config.leaderElection.leaseDurationMs, 20_000);
    assert.equal(c.config.endOffsetWatchIntervalMs, 0);
    assert.equal(c.config.shutdownTimeoutMs, 20_000);
    assert.equal(c.config.inject.sidecarImage, "registry.example/lagscale-sidecar:1.2.3");
    assert.equal(
      c.config.inject.reportUrl,
      "https://scaler-lagscale-reports.autoscaling.svc:10444/v1/reports",
    );

    // a flag the chart sets, given again through extraArgs, is refused by the controller at start
    const twice = await renderChart(helm, {
      release: "lagscale",
      namespace: "ls",
      setJson: { extraArgs: ["--log-level=debug"] },
    });
    const r = controllerConfigOf(twice, pod, path.join(scratch, "twice"));
    assert.ok(!r.ok && r.errors.some((e) => /log-level is given twice/.test(e)), JSON.stringify(r));
  });

  it("RBAC names no wildcard; the Lease and pod labels are namespaced; Secrets only where watched", () => {
    for (const objects of [defaults, custom]) {
      for (const o of objects.filter((x) => x.kind === "ClusterRole" || x.kind === "Role")) {
        for (const rule of o.rules as Record<string, string[]>[]) {
          for (const field of ["apiGroups", "resources", "verbs"]) {
            assert.ok(!rule[field]!.includes("*"), `${o.kind}/${o.metadata.name} has a wildcard in ${field}`);
          }
        }
      }
    }
    const grants = (o: K8sObject, resource: string) =>
      (o.rules as { resources: string[]; verbs: string[] }[])
        .filter((r) => r.resources.includes(resource))
        .flatMap((r) => r.verbs);
    const clusterRole = findObject(defaults, "ClusterRole");
    assert.deepEqual(grants(clusterRole, "leases"), []);
    assert.ok(!grants(clusterRole, "pods").includes("patch"));
    assert.deepEqual(grants(clusterRole, "secrets"), ["get"], "all namespaces: Secrets read one by one");
    const role = findObject(defaults, "Role");
    assert.deepEqual(grants(role, "leases"), ["get", "create", "update"]);
    assert.deepEqual(grants(role, "pods"), ["patch"]);

    // watched namespaces: no cluster-wide Secrets, a Role in each watched namespace and the release's
    assert.deepEqual(grants(findObject(custom, "ClusterRole"), "secrets"), []);
    const secretRoles = custom
      .filter((o) => o.kind === "Role" && grants(o, "secrets").length > 0)
      .map((o) => o.metadata.namespace)
      .sort();
    assert.deepEqual(secretRoles, ["autoscaling", "team-a", "team-b"]);
  });

  it("security contexts, probes and resources as KEDA's chart sets them", () => {
    const spec = findObject(defaults, "Deployment").spec as {
      replicas: number;
      template: { spec: Record<string, unknown> };
    };
    assert.equal(spec.replicas, 2);
    const pod = spec.template.spec as {
      securityContext: Record<string, unknown>;
      containers: Record<string, unknown>[];
    };
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
    const c = pod.containers[0]!;
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.ok(c.readinessProbe && c.livenessProbe && c.resources);
  });

  it("every rendered object is accepted by the API server (server-side dry run), the CRDs too", async () => {
    const rest = kubeRest(stack);
    const served = new Map<string, boolean>();
    const isServed = async (apiVersion: string) => {
      if (!served.has(apiVersion)) {
        const p = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        served.set(
          apiVersion,
          await rest.get(p).then(
            () => true,
            () => false,
          ),
        );
      }
      return served.get(apiVersion)!;
    };
    const nsA = await createNamespace(stack, "chart-dry");
    try {
      // the namespaces the renders name must exist for a dry run of their objects
      const renders = [
        await renderChart(helm, { release: "lagscale", namespace: nsA.name }),
        await renderChart(helm, {
          release: "scaler",
          namespace: nsA.name,
          setJson: { ...NON_DEFAULT, watchNamespaces: [nsA.name, "default"] },
        }),
        await renderChart(helm, {
          release: "lagscale",
          namespace: nsA.name,
          setJson: { certificates: { certManager: { enabled: true } } },
        }),
      ];
      const skipped = new Set<string>();
      let checked = 0;
      for (const objects of renders) {
        const accepted: K8sObject[] = [];
        for (const o of objects) {
          if (await isServed(o.apiVersion)) accepted.push(o);
          else skipped.add(o.apiVersion);
        }
        const out = await kubectl(
          ["apply", "--dry-run=server", "--validate=strict", "-o", "name", "-f", "-"],
          accepted.map((o) => JSON.stringify(o)).join("\n---\n"),
        );
        assert.equal(out.trim().split("\n").length, accepted.length, out);
        checked += accepted.length;
      }
      const crds = await kubectl([
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-o",
        "name",
        "-f",
        path.join(CHART_DIR, "crds"),
      ]);
      assert.equal(crds.trim().split("\n").length, 4, crds);
      // only the APIs of add-ons the stack does not run go unchecked (their CRDs are not ours to ship)
      assert.deepEqual([...skipped].sort(), ["cert-manager.io/v1", "monitoring.coreos.com/v1"]);
      console.log(
        `server-side dry run: ${checked} rendered objects and 4 CRDs accepted; not served here: ${[...skipped].join(", ")}`,
      );
    } finally {
      rest.close();
      await nsA.remove();
    }
  });
});

const ready = (p: PodView) =>
  p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** A container's id in a pod's status (`podman://...` from its image, `process://...` from the process map). */
async function containerIDs(rest: KubeRest, ns: string, pod: string): Promise<Record<string, string>> {
  const p = await rest.get<{
    status?: {
      initContainerStatuses?: { name: string; containerID?: string }[];
      containerStatuses?: { name: string; containerID?: string }[];
    };
  }>(`/api/v1/namespaces/${ns}/pods/${pod}`);
  const all = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  return Object.fromEntries(all.flatMap((c) => (c.containerID ? [[c.name, c.containerID]] : [])));
}

const fromImage = (id: string | undefined) => id?.startsWith("podman://") ?? false;
const mib = (n: number) => `${n.toFixed(1)} MiB`;

describe("helm install, upgrade and uninstall on the local stack", { skip: podRunnerMissing(stack) }, () => {
  let rest: KubeRest;
  let app: TestNamespace;
  let release: string;
  let releaseNs: TestNamespace;
  const topic = uniqueName("chart-topic");
  const group = uniqueName("chart-group");
  const brokers = stack.kafka.bootstrapServers;
  let installedAt = 0;
  /** The runner's engine (`podman://4.3.1`) when the chart's images run from the engine here. */
  let engine: string | undefined;
  const podman = engineCommand();
  /** What `helm install` printed: the release's NOTES.txt. */
  let notes = "";
  const selector = () => `app.kubernetes.io/instance=${release},app.kubernetes.io/component=controller`;
  const helmArgs = () => [
    "--namespace",
    releaseNs.name,
    "-f",
    LOCAL_VALUES,
    "--set-json",
    `watchNamespaces=${JSON.stringify([app.name])}`,
  ];

  before(async () => {
    rest = kubeRest(stack);
    await installCrds(stack);
    app = await createNamespace(stack, "chart-app");
    releaseNs = await createNamespace(stack, "chart-ls");
    release = `ls-${releaseNs.name.split("-").slice(-2).join("")}`.slice(0, 20);
    await withAdmin(kafka(brokers), (admin) => createTestTopic(admin, topic, 4));
    engine = await runnerEngine(stack.kubeconfig, stack.kube.nodeName!);
    const images = ["lagscale/controller:dev", "lagscale/sidecar:dev"];
    const missing: string[] = [];
    for (const image of images) {
      if (!engine) break;
      await execFileAsync(podman, ["image", "exists", image]).catch(() => missing.push(image));
    }
    console.log(
      !engine
        ? "the stack's pod runner has no container engine: the chart's pods run from the process map"
        : missing.length > 0
          ? `not in the engine (${missing.join(", ")}): those run from the process map`
          : `the chart's images run from the engine (${engine})`,
    );
    if (missing.length > 0) engine = undefined;
  });

  after(async () => {
    await app?.remove();
    if (release)
      await runHelm(helm, ["uninstall", release, "--namespace", releaseNs.name], stack.kubeconfig).catch(
        () => undefined,
      );
    await releaseNs?.remove();
    rest?.close();
  });

  it("helm install: two controller pods run and one of them leads", async () => {
    installedAt = Date.now();
    notes = await runHelm(
      helm,
      ["install", release, CHART_DIR, ...helmArgs(), "--wait", "--timeout", "5m"],
      stack.kubeconfig,
    );
    const waited = Date.now() - installedAt;
    const pods = await waitFor(
      "two ready controller pods, one labelled leader",
      async () => {
        const p = await livePods(rest, releaseNs.name, selector());
        return p.filter(ready).length === 2 &&
          p.filter((x) => x.metadata.labels?.[LEADER_LABEL] === "true").length === 1
          ? p
          : undefined;
      },
      120_000,
      250,
    );
    assert.equal(pods.length, 2);
    console.log(
      `helm install --wait: ${seconds(waited)}; two ready pods and a leader ${seconds(Date.now() - installedAt)} after the install began`,
    );
    if (!engine) return;

    // from the image: the image's user, a read-only root, the pod's env; /metrics shows the image's env
    const commit = (await imageEnv(podman, "lagscale/controller:dev")).GIT_COMMIT;
    assert.ok(commit && commit !== "unknown", "the image build wrote GIT_COMMIT");
    for (const pod of pods) {
      const id = (await containerIDs(rest, releaseNs.name, pod.metadata.name)).controller;
      assert.ok(fromImage(id), `${pod.metadata.name} runs from its image: ${id}`);
      const facts = await containerFacts(podman, id!);
      assert.deepEqual(
        { uid: facts.uid, gid: facts.gid, rootReadOnly: facts.rootReadOnly, podIP: facts.env.POD_IP },
        { uid: 1000, gid: 1000, rootReadOnly: true, podIP: pod.status?.podIP },
      );
      const metrics = await (await fetch(`http://${pod.status?.podIP}:8080/metrics`)).text();
      assert.match(metrics, new RegExp(`lagscale_build_info\\{[^}]*git_commit="${commit}"`));
    }
    // idle: leader elected, no ScaledObject yet; the steady figure after a few seconds
    await new Promise((r) => setTimeout(r, 5_000));
    for (const pod of pods) {
      const id = (await containerIDs(rest, releaseNs.name, pod.metadata.name)).controller!;
      const leader = pod.metadata.labels?.[LEADER_LABEL] === "true" ? "leader" : "standby";
      console.log(
        `controller container RSS at idle (${leader}): ${mib((await containerFacts(podman, id)).rssMiB)}`,
      );
    }
  });

  it("the validating webhook answers through its Service: a bad ScaledObject is refused", async () => {
    // a target that does not exist: the CRD schema allows it, only the webhook (reached through the
    // chart's Service; failurePolicy Ignore would admit it unseen) refuses it
    const bad = scaledObject({
      namespace: app.name,
      name: "no-target",
      target: "nothing-here",
      triggers: [kafkaTrigger({ brokers, group, topic })],
    });
    await assert.rejects(createScaledObject(rest, bad), (err: Error) => {
      assert.match(err.message, /admission webhook "vscaledobject\.lagscale\.io" denied the request/);
      assert.match(err.message, /nothing-here/);
      return true;
    });
  });

  it("NOTES.txt names the release's Deployment, and its ScaledObject passes the CRD schema and the webhook", async () => {
    assert.match(notes, new RegExp(`rollout status deployment/${release}-lagscale-controller`));
    const example = /^ {3}apiVersion: lagscale\.io[\s\S]*?(?=\n\s*\n)/m.exec(notes)?.[0];
    assert.ok(example, `no ScaledObject in the notes:\n${notes}`);
    const yaml = example.replace(/^ {3}/gm, "");
    // a server-side dry run goes through the CRD schema and the validating webhook (which skips the
    // target lookup for dry runs)
    const out = await kubectl(["create", "--dry-run=server", "-n", app.name, "-o", "name", "-f", "-"], yaml);
    assert.equal(out.trim(), "scaledobject.lagscale.io/my-consumer");
  });

  it("an opted-in consumer gets the sidecar, and its ScaledObject scales it", async () => {
    const consumer = consumerDeployment({
      namespace: app.name,
      name: "consumer",
      // 0: the ScaledObject must exist when the first pod is created (the injector reads it), and the
      // webhook refuses a ScaledObject whose target is missing; lagscale then scales it to minReplicaCount
      replicas: 0,
      brokers,
      topic,
      group,
      sleepSeconds: 1,
    });
    withSidecarOptIn(consumer);
    await createDeployment(rest, consumer);
    await createScaledObject(
      rest,
      scaledObject({
        namespace: app.name,
        name: "consumer",
        target: "consumer",
        spec: { minReplicaCount: 1, maxReplicaCount: 4, pollingInterval: 5, cooldownPeriod: 300 },
        triggers: [kafkaTrigger({ brokers, group, topic, lagThreshold: 5 })],
      }),
    );
    const [pod] = await waitFor(
      "the consumer pod, made when lagscale scaled the Deployment from 0 to minReplicaCount",
      async () => {
        const p = await livePods(rest, app.name, "app=consumer");
        return p.length === 1 ? p : undefined;
      },
      // the ReplicaSet's pod comes from the stack's kube-controller-manager: over a minute once on a busy stack
      180_000,
    );
    console.log(`helm install to the first scaling (consumer 0 -> 1): ${seconds(Date.now() - installedAt)}`);
    const names = [...(pod!.spec.initContainers ?? []), ...pod!.spec.containers].map((c) => c.name);
    assert.ok(names.includes(SIDECAR_CONTAINER), `the pod's containers: ${names.join(", ")}`);
    const ids = await waitFor(
      "the consumer pod's containers started",
      async () => {
        const i = await containerIDs(rest, app.name, pod!.metadata.name);
        return i[SIDECAR_CONTAINER] && i["kafka-consumer"] ? i : undefined;
      },
      120_000,
      250,
    );
    console.log(
      `consumer pod: the sidecar runs ${fromImage(ids[SIDECAR_CONTAINER]) ? "from its image" : "from the process map"}, ` +
        `the demo consumer ${fromImage(ids["kafka-consumer"]) ? "from its image" : "from the process map"}`,
    );
    if (engine) {
      assert.ok(
        fromImage(ids[SIDECAR_CONTAINER]),
        `the sidecar runs from its image: ${ids[SIDECAR_CONTAINER]}`,
      );
      const facts = await containerFacts(podman, ids[SIDECAR_CONTAINER]!);
      assert.deepEqual(
        { uid: facts.uid, rootReadOnly: facts.rootReadOnly, scaledObject: facts.env.LAGSCALE_SCALED_OBJECT },
        { uid: 1000, rootReadOnly: true, scaledObject: "consumer" },
      );
      await new Promise((r) => setTimeout(r, 5_000));
      const rss = (await containerFacts(podman, ids[SIDECAR_CONTAINER]!)).rssMiB;
      console.log(`sidecar container RSS at idle (no messages yet): ${mib(rss)}`);
    }

    // 60 messages at 1 s each with lagThreshold 5: the chart's leader scales the consumer out to 4
    await produce(kafka(brokers), topic, 60);
    await waitForReplicas(rest, app.name, "consumer", 4, 180_000);
    console.log(`helm install to the consumer scaled to 4: ${seconds(Date.now() - installedAt)}`);
  });

  it("helm upgrade keeps the certificates", async () => {
    const secretName = `${release}-lagscale-serving-cert`;
    const certs = async () => {
      const s = await rest.get<{ data: Record<string, string> }>(
        `/api/v1/namespaces/${releaseNs.name}/secrets/${secretName}`,
      );
      const v = await rest.get<{ webhooks: { clientConfig: { caBundle: string } }[] }>(
        `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${release}-lagscale-validating`,
      );
      return { secret: s.data, caBundle: v.webhooks[0]!.clientConfig.caBundle };
    };
    const before = await certs();
    assert.equal(before.caBundle, before.secret["ca.crt"], "the webhooks trust the Secret's CA");
    await runHelm(
      helm,
      ["upgrade", release, CHART_DIR, ...helmArgs(), "--set", "logLevel=info", "--wait", "--timeout", "5m"],
      stack.kubeconfig,
    );
    const afterUpgrade = await certs();
    assert.deepEqual(afterUpgrade, before);
    const history = await runHelm(
      helm,
      ["history", release, "--namespace", releaseNs.name, "-o", "json"],
      stack.kubeconfig,
    );
    assert.equal((JSON.parse(history) as unknown[]).length, 2, "the upgrade made a second revision");
  });

  it("helm uninstall leaves only the CRDs", async () => {
    await runHelm(helm, ["uninstall", release, "--namespace", releaseNs.name, "--wait"], stack.kubeconfig);
    const kinds =
      "deployments,services,secrets,configmaps,serviceaccounts,roles,rolebindings,poddisruptionbudgets," +
      "clusterroles,clusterrolebindings,validatingwebhookconfigurations,mutatingwebhookconfigurations";
    const left = await kubectl([
      "get",
      kinds,
      "-A",
      "-l",
      `app.kubernetes.io/instance=${release}`,
      "-o",
      "name",
    ]);
    assert.equal(left.trim(), "", `left behind: ${left}`);
    const releaseRecords = await kubectl([
      "get",
      "secrets",
      "-n",
      releaseNs.name,
      "-l",
      `owner=helm,name=${release}`,
      "-o",
      "name",
    ]);
    assert.equal(releaseRecords.trim(), "", "helm's release records are gone");
    const crds = await kubectl(["get", "crd", "-o", "name"]);
    for (const name of [
      "scaledobjects",
      "scaledjobs",
      "triggerauthentications",
      "clustertriggerauthentications",
    ]) {
      assert.match(crds, new RegExp(`${name}\\.lagscale\\.io`));
    }
    release = "";
  });
});
