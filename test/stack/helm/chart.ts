/**
 * The chart as the checks see it: `helm template` parsed into objects, the webhook configurations the
 * controller's renderers would make for the same values, and the controller's settings read from the
 * rendered Deployment as the kubelet would start it (downward API values, `$(VAR)` in args, the serving
 * certificate Secret as the mounted folder).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { parseConfig, type ConfigResult } from "../../../controller/config.js";
import {
  renderMutatingWebhookConfiguration,
  renderValidatingWebhookConfiguration,
} from "../../../controller/webhook/config.js";
import { repoRoot } from "../paths.js";
import { runHelm } from "./helm.js";

export const CHART_DIR = path.join(repoRoot, "charts", "lagscale");

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
} & Record<string, unknown>;

export interface RenderOptions {
  release: string;
  namespace: string;
  valuesFiles?: string[];
  /** `--set-json key=value` pairs. */
  setJson?: Record<string, unknown>;
}

export function helmValueArgs(o: Omit<RenderOptions, "release" | "namespace">): string[] {
  return [
    ...(o.valuesFiles ?? []).flatMap((f) => ["-f", f]),
    ...Object.entries(o.setJson ?? {}).flatMap(([k, v]) => ["--set-json", `${k}=${JSON.stringify(v)}`]),
  ];
}

/** `helm template` of the chart, as objects. */
export async function renderChart(helm: string, o: RenderOptions): Promise<K8sObject[]> {
  const out = await runHelm(helm, [
    "template",
    o.release,
    CHART_DIR,
    "--namespace",
    o.namespace,
    ...helmValueArgs(o),
  ]);
  return parseManifests(out);
}

export function parseManifests(stream: string): K8sObject[] {
  return YAML.parseAllDocuments(stream)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((x): x is K8sObject => x !== null && typeof x === "object");
}

export function findObject(objects: K8sObject[], kind: string, nameSuffix = ""): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} *${nameSuffix}, found ${found.length}`);
  return found[0]!;
}

interface Webhook {
  clientConfig: { service: { namespace: string; name: string; port: number }; caBundle?: string };
  failurePolicy: "Ignore" | "Fail";
  timeoutSeconds: number;
  namespaceSelector?: unknown;
}

type Selector = Parameters<typeof renderValidatingWebhookConfiguration>[0]["namespaceSelector"];

/** What the values ask of the webhook configurations; unset: the renderers' defaults. */
export interface WebhookExpectation {
  /** The chart's name prefix (`<release>-lagscale`, or the release name when it contains "lagscale"). */
  fullname: string;
  namespace: string;
  failurePolicy?: "Ignore" | "Fail";
  timeoutSeconds?: number;
  injectTimeoutSeconds?: number;
  watchNamespaces: string[];
  excludeNamespaces: string[];
}

/**
 * What controller/webhook/config.ts renders for these values: the chart's objects must equal it
 * (annotations aside: cert-manager's CA injection). Only the CA (random per render) and the labels are
 * taken from the chart's object; without a caBundle (cert-manager injects it later) none is expected.
 */
export function expectedWebhookConfigs(validating: K8sObject, mutating: K8sObject, o: WebhookExpectation) {
  const ca = (validating.webhooks as Webhook[])[0]!.clientConfig.caBundle;
  const watched: Selector = o.watchNamespaces.length
    ? {
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: o.watchNamespaces }],
      }
    : undefined;
  const common = {
    service: { namespace: o.namespace, name: `${o.fullname}-webhook`, port: 443 },
    caBundle: ca ? Buffer.from(ca, "base64") : "",
    ...(o.failurePolicy ? { failurePolicy: o.failurePolicy } : {}),
  };
  const strip = <T extends { webhooks: { clientConfig: object }[] }>(x: T): T => {
    if (!ca) for (const w of x.webhooks) delete (w.clientConfig as { caBundle?: string }).caBundle;
    return x;
  };
  const v = strip(
    renderValidatingWebhookConfiguration({
      ...common,
      name: `${o.fullname}-validating`,
      labels: validating.metadata.labels,
      ...(o.timeoutSeconds ? { timeoutSeconds: o.timeoutSeconds } : {}),
      ...(watched ? { namespaceSelector: watched } : {}),
    }),
  );
  const m = strip(
    renderMutatingWebhookConfiguration({
      ...common,
      name: `${o.fullname}-sidecar-injector`,
      labels: mutating.metadata.labels,
      ...(o.injectTimeoutSeconds ? { timeoutSeconds: o.injectTimeoutSeconds } : {}),
      ownNamespace: o.namespace,
      excludeNamespaces: o.excludeNamespaces,
    }),
  );
  // watched namespaces: only those, as for the validating webhooks (test/stack/lagscale/install.ts does the same)
  if (watched) for (const w of m.webhooks) (w as { namespaceSelector: unknown }).namespaceSelector = watched;
  return { validating: v, mutating: m };
}

/** The object without its annotations, for comparing with a renderer's output. */
export function withoutAnnotations(o: K8sObject): K8sObject {
  const { annotations: _annotations, ...metadata } = o.metadata;
  return { ...o, metadata };
}

interface Container {
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}

/**
 * controller/config.ts's parse of the rendered controller container, started as the kubelet would: env from
 * literal values and the downward API (`pod` gives name, namespace and IP), `$(VAR)` expanded in args, and the
 * serving-cert Secret's keys written to a folder that stands for its mount.
 */
export function controllerConfigOf(
  objects: K8sObject[],
  pod: { name: string; namespace: string; ip: string },
  scratchDir: string,
): ConfigResult {
  const deployment = findObject(objects, "Deployment", "-controller");
  const spec = (deployment.spec as { template: { spec: { containers: Container[]; volumes?: unknown[] } } })
    .template.spec;
  const container = spec.containers.find((c) => (c as { name?: string }).name === "controller")!;
  const fields: Record<string, string> = {
    "metadata.name": pod.name,
    "metadata.namespace": pod.namespace,
    "status.podIP": pod.ip,
  };
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const v = e.value ?? (e.valueFrom?.fieldRef ? fields[e.valueFrom.fieldRef.fieldPath] : undefined);
    if (v !== undefined) env[e.name] = v;
  }
  let args = (container.args ?? []).map((a) =>
    a.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, n: string) => env[n] ?? m),
  );
  for (const mount of container.volumeMounts ?? []) {
    const volume = (spec.volumes as { name: string; secret?: { secretName: string } }[]).find(
      (v) => v.name === mount.name,
    );
    if (!volume?.secret) continue;
    const secret = findObject(objects, "Secret", volume.secret.secretName);
    const dir = path.join(scratchDir, mount.name);
    mkdirSync(dir, { recursive: true });
    for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>)) {
      writeFileSync(path.join(dir, k), Buffer.from(v, "base64"));
    }
    args = args.map((a) => a.split(mount.mountPath).join(dir));
  }
  // the service account's namespace file is not there outside a pod: POD_NAMESPACE gives it
  return parseConfig(args, {
    ...env,
    LAGSCALE_SERVICEACCOUNT_DIR: path.join(scratchDir, "no-serviceaccount"),
  });
}
