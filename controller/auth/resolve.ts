/**
 * Where a trigger's parameters come from besides its `metadata`, resolved as KEDA resolves them
 * (keda-semantics.md §1.1): `resolvedEnv` is the environment of one container of the scale target's pod
 * template (`envSourceContainerName`, or the first container), which `<name>FromEnv` parameters read;
 * `authParams` come from the TriggerAuthentication or ClusterTriggerAuthentication named in the
 * trigger's `authenticationRef` (its `env`, `configMapTargetRef` and `secretTargetRef` entries, in that
 * order, a later entry winning for the same parameter).
 *
 * Departures from KEDA, for messages a person can act on: KEDA reads a missing Secret, key or
 * TriggerAuthentication as an empty value (and the trigger then fails with "no password given" or
 * connects without the certificate); here each is an error naming the object, the key and the field
 * that refers to it. The target's environment is resolved only when a trigger needs it, so a broken
 * `env` entry that no trigger reads does not fail the triggers.
 *
 * Pure given an `AuthSources`; every object read is recorded in `dependencies`, so the controller can
 * re-resolve a ScaledObject when one of them changes (or appears).
 */
import { readFileSync } from "node:fs";
import {
  unsupportedAuthSources,
  type ScaledJob,
  type ScaledObject,
  type ScaleTrigger,
  type TriggerAuthenticationSpec,
} from "../../core/crd/index.js";
import { errorLine } from "../../core/errors.js";
import type { AuthRefKind, AuthSources, Container, PodTemplate, TargetRef } from "./sources.js";

/** The environment variable naming the namespace ClusterTriggerAuthentications read Secrets from. */
export const CLUSTER_OBJECT_NAMESPACE_ENV = "LAGSCALE_CLUSTER_OBJECT_NAMESPACE";
const SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/**
 * The namespace whose Secrets and ConfigMaps ClusterTriggerAuthentications read, as KEDA's
 * KEDA_CLUSTER_OBJECT_NAMESPACE: `LAGSCALE_CLUSTER_OBJECT_NAMESPACE`, else the namespace lagscale runs in
 * (its service account's), else undefined.
 */
export function clusterObjectNamespaceFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  readNamespaceFile: () => string = () => readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, "utf8"),
): string | undefined {
  const fromEnv = env[CLUSTER_OBJECT_NAMESPACE_ENV]?.trim();
  if (fromEnv) return fromEnv;
  try {
    return readNamespaceFile().trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface ResolveRequest {
  /** Namespace of the ScaledObject or ScaledJob. */
  namespace: string;
  /** The scale target (ScaledObject), read through the sources; or the pod template itself (ScaledJob). */
  podTemplate: { target: TargetRef } | { template: PodTemplate | undefined; describedAs: string };
  /** The container `<name>FromEnv` parameters read; default the first. */
  envSourceContainerName?: string;
  triggers: readonly ScaleTrigger[];
}

export interface ResolveOptions {
  /** Where ClusterTriggerAuthentications read Secrets and ConfigMaps; see `clusterObjectNamespaceFromEnv`. */
  clusterObjectNamespace?: string;
}

/** What `parseKafkaTrigger` / `parseCronTrigger` take. */
export interface TriggerInputs {
  metadata: Record<string, string>;
  resolvedEnv: Record<string, string>;
  authParams: Record<string, string>;
}

export type TriggerResolution =
  { index: number; ok: true; input: TriggerInputs } | { index: number; ok: false; errors: string[] };

/** Objects the resolution read (or looked for), as sorted "namespace/name" keys (cluster objects: "name"). */
export interface AuthDependencies {
  secrets: string[];
  configMaps: string[];
  triggerAuthentications: string[];
  clusterTriggerAuthentications: string[];
}

export interface ResolvedTriggerInputs {
  /** One entry per trigger, in order. */
  triggers: TriggerResolution[];
  dependencies: AuthDependencies;
}

/** True when the resolution read (or looked for) this Secret: re-resolve when it changes. */
export function dependsOnSecret(deps: AuthDependencies, namespace: string, name: string): boolean {
  return deps.secrets.includes(`${namespace}/${name}`);
}

/** Inputs for each trigger of a ScaledObject: the environment comes from its scale target. */
export function resolveScaledObjectInputs(
  sources: AuthSources,
  so: Pick<ScaledObject, "metadata" | "spec">,
  options: ResolveOptions = {},
): Promise<ResolvedTriggerInputs> {
  const ref = so.spec.scaleTargetRef;
  const request: ResolveRequest = {
    namespace: so.metadata.namespace ?? "default",
    podTemplate: {
      target: { apiVersion: ref.apiVersion || "apps/v1", kind: ref.kind || "Deployment", name: ref.name },
    },
    triggers: so.spec.triggers,
  };
  if (ref.envSourceContainerName) request.envSourceContainerName = ref.envSourceContainerName;
  return resolveTriggerInputs(sources, request, options);
}

/** Inputs for each trigger of a ScaledJob: the environment comes from its own job template. */
export function resolveScaledJobInputs(
  sources: AuthSources,
  sj: Pick<ScaledJob, "metadata" | "spec">,
  options: ResolveOptions = {},
): Promise<ResolvedTriggerInputs> {
  const namespace = sj.metadata.namespace ?? "default";
  const request: ResolveRequest = {
    namespace,
    podTemplate: {
      template: sj.spec.jobTargetRef.template as PodTemplate | undefined,
      describedAs: `the job template of ScaledJob ${namespace}/${sj.metadata.name ?? ""}`,
    },
    triggers: sj.spec.triggers,
  };
  if (sj.spec.envSourceContainerName) request.envSourceContainerName = sj.spec.envSourceContainerName;
  return resolveTriggerInputs(sources, request, options);
}

type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Kubernetes' `$(VAR)` expansion of an env value, as the kubelet does it (so the value is what the
 * container sees): `$(NAME)` becomes NAME's value when NAME is defined earlier, and stays as written
 * otherwise; `$$` is a literal `$`.
 */
export function expandEnvValue(value: string, env: Readonly<Record<string, string>>): string {
  let out = "";
  let i = 0;
  while (i < value.length) {
    const c = value[i];
    if (c !== "$" || i + 1 >= value.length) {
      out += c;
      i++;
      continue;
    }
    const next = value[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
    } else if (next === "(") {
      const close = value.indexOf(")", i + 2);
      if (close < 0) {
        out += value.slice(i);
        break;
      }
      const name = value.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(env, name) ? env[name] : value.slice(i, close + 1);
      i = close + 1;
    } else {
      out += "$" + next;
      i += 2;
    }
  }
  return out;
}

/** One resolution: lookups memoized, every object looked at recorded. */
class Resolution {
  private readonly secrets = new Map<string, Promise<Result<Record<string, string> | undefined>>>();
  private readonly configMaps = new Map<string, Promise<Result<Record<string, string> | undefined>>>();
  private readonly auths = new Map<string, Promise<Result<TriggerAuthenticationSpec | undefined>>>();
  private template: Promise<Result<PodTemplate>> | undefined;
  private readonly envs = new Map<string, Promise<Result<Record<string, string>>>>();
  readonly deps = {
    secrets: new Set<string>(),
    configMaps: new Set<string>(),
    triggerAuthentications: new Set<string>(),
    clusterTriggerAuthentications: new Set<string>(),
  };

  constructor(
    private readonly sources: AuthSources,
    private readonly request: ResolveRequest,
  ) {}

  private memo<T>(
    cache: Map<string, Promise<Result<T>>>,
    key: string,
    what: string,
    load: () => Promise<T>,
  ): Promise<Result<T>> {
    let p = cache.get(key);
    if (!p) {
      p = load().then(
        (value): Result<T> => ({ ok: true, value }),
        (err: unknown): Result<T> => ({ ok: false, error: `could not read ${what}: ${errorLine(err)}` }),
      );
      cache.set(key, p);
    }
    return p;
  }

  secret(namespace: string, name: string) {
    const key = `${namespace}/${name}`;
    this.deps.secrets.add(key);
    return this.memo(this.secrets, key, `Secret ${key}`, () => this.sources.getSecret(namespace, name));
  }

  configMap(namespace: string, name: string) {
    const key = `${namespace}/${name}`;
    this.deps.configMaps.add(key);
    return this.memo(this.configMaps, key, `ConfigMap ${key}`, () =>
      this.sources.getConfigMap(namespace, name),
    );
  }

  auth(kind: AuthRefKind, name: string) {
    const cluster = kind === "ClusterTriggerAuthentication";
    const key = cluster ? name : `${this.request.namespace}/${name}`;
    (cluster ? this.deps.clusterTriggerAuthentications : this.deps.triggerAuthentications).add(key);
    return this.memo(this.auths, `${kind}/${key}`, `${kind} ${key}`, () =>
      this.sources.getTriggerAuthentication(kind, this.request.namespace, name),
    );
  }

  /** How the pod template's owner is named in messages, e.g. `Deployment demo/consumer`. */
  get templateOwner(): string {
    const p = this.request.podTemplate;
    return "target" in p ? `${p.target.kind} ${this.request.namespace}/${p.target.name}` : p.describedAs;
  }

  podTemplate(): Promise<Result<PodTemplate>> {
    if (!this.template) {
      const p = this.request.podTemplate;
      if (!("target" in p)) {
        this.template = Promise.resolve(
          p.template
            ? { ok: true, value: p.template }
            : { ok: false, error: `${this.templateOwner} has no pod template` },
        );
      } else {
        const t = p.target;
        this.template = this.sources.getPodTemplate(this.request.namespace, t).then(
          (r): Result<PodTemplate> => {
            if (r.found) {
              return r.template
                ? { ok: true, value: r.template }
                : {
                    ok: false,
                    error: `${this.templateOwner} (scaleTargetRef) has no pod template (spec.template)`,
                  };
            }
            return {
              ok: false,
              error:
                r.reason === "not-found"
                  ? `${this.templateOwner} (scaleTargetRef) not found`
                  : `scaleTargetRef: the API server serves no kind ${JSON.stringify(t.kind)} in ${JSON.stringify(t.apiVersion)}`,
            };
          },
          (err: unknown): Result<PodTemplate> => ({
            ok: false,
            error: `could not read ${this.templateOwner} (scaleTargetRef): ${errorLine(err)}`,
          }),
        );
      }
    }
    return this.template;
  }

  /** The environment of one container (`name` undefined: the first), as KEDA's ResolveContainerEnv. */
  containerEnv(name: string | undefined): Promise<Result<Record<string, string>>> {
    const key = name ?? "";
    let p = this.envs.get(key);
    if (!p) {
      p = this.loadContainerEnv(name);
      this.envs.set(key, p);
    }
    return p;
  }

  private async loadContainerEnv(name: string | undefined): Promise<Result<Record<string, string>>> {
    const template = await this.podTemplate();
    if (!template.ok) return template;
    const containers = template.value.spec?.containers ?? [];
    if (containers.length === 0) {
      return { ok: false, error: `${this.templateOwner} has no containers in its pod template` };
    }
    const container = name === undefined ? containers[0] : containers.find((c) => c.name === name);
    if (!container) {
      return {
        ok: false,
        error: `container ${JSON.stringify(name)} not found in the pod template of ${this.templateOwner} (containers: ${containers.map((c) => c.name).join(", ")})`,
      };
    }
    return this.resolveEnv(container);
  }

  private async resolveEnv(container: Container): Promise<Result<Record<string, string>>> {
    const ns = this.request.namespace;
    const where = `container ${JSON.stringify(container.name)} of ${this.templateOwner}`;
    const env: Record<string, string> = {};
    for (const [i, from] of (container.envFrom ?? []).entries()) {
      const prefix = from.prefix ?? "";
      const ref = from.configMapRef ?? from.secretRef;
      if (!ref) continue;
      const kind = from.configMapRef ? "ConfigMap" : "Secret";
      const got = await (from.configMapRef
        ? this.configMap(ns, ref.name ?? "")
        : this.secret(ns, ref.name ?? ""));
      if (!got.ok) return { ok: false, error: `${where}, envFrom[${i}]: ${got.error}` };
      if (got.value === undefined) {
        if (ref.optional) continue;
        return {
          ok: false,
          error: `${where}, envFrom[${i}]: ${kind} ${JSON.stringify(ref.name ?? "")} not found in namespace ${JSON.stringify(ns)}`,
        };
      }
      for (const [k, v] of Object.entries(got.value)) env[prefix + k] = v;
    }
    for (const v of container.env ?? []) {
      if (v.value !== undefined && v.value !== "") {
        env[v.name] = expandEnvValue(v.value, env);
        continue;
      }
      const from = v.valueFrom;
      if (!from) {
        env[v.name] = "";
        continue;
      }
      const ref = from.secretKeyRef ?? from.configMapKeyRef;
      // fieldRef and resourceFieldRef need a running pod; KEDA skips them too.
      if (!ref) continue;
      const kind = from.secretKeyRef ? "Secret" : "ConfigMap";
      const got = await (from.secretKeyRef
        ? this.secret(ns, ref.name ?? "")
        : this.configMap(ns, ref.name ?? ""));
      const whereVar = `${where}, env ${v.name}`;
      if (!got.ok) return { ok: false, error: `${whereVar}: ${got.error}` };
      if (got.value === undefined || got.value[ref.key] === undefined) {
        if (ref.optional) continue;
        return {
          ok: false,
          error:
            got.value === undefined
              ? `${whereVar}: ${kind} ${JSON.stringify(ref.name ?? "")} not found in namespace ${JSON.stringify(ns)}`
              : `${whereVar}: ${kind} ${ns}/${ref.name ?? ""} has no key ${JSON.stringify(ref.key)}`,
        };
      }
      env[v.name] = got.value[ref.key]!;
    }
    return { ok: true, value: env };
  }
}

function needsEnv(metadata: Readonly<Record<string, string>>): boolean {
  return Object.entries(metadata).some(([k, v]) => k.endsWith("FromEnv") && v.trim() !== "");
}

/** Resolves `resolvedEnv` and `authParams` for every trigger. Never throws for a missing or unreadable object. */
export async function resolveTriggerInputs(
  sources: AuthSources,
  request: ResolveRequest,
  options: ResolveOptions = {},
): Promise<ResolvedTriggerInputs> {
  const r = new Resolution(sources, request);
  const triggers: TriggerResolution[] = [];
  for (const [index, trigger] of request.triggers.entries()) {
    const errors: string[] = [];
    const path = `spec.triggers[${index}]`;
    let resolvedEnv: Record<string, string> = {};
    if (needsEnv(trigger.metadata)) {
      const env = await r.containerEnv(request.envSourceContainerName);
      if (env.ok) resolvedEnv = env.value;
      else errors.push(`${path}.metadata (<name>FromEnv): ${env.error}`);
    }
    const authParams: Record<string, string> = {};
    const ref = trigger.authenticationRef;
    if (ref) errors.push(...(await resolveAuthRef(r, request, options, path, ref, authParams)));
    triggers.push(
      errors.length > 0
        ? { index, ok: false, errors }
        : { index, ok: true, input: { metadata: { ...trigger.metadata }, resolvedEnv, authParams } },
    );
  }
  const sorted = (s: Set<string>) => [...s].sort();
  return {
    triggers,
    dependencies: {
      secrets: sorted(r.deps.secrets),
      configMaps: sorted(r.deps.configMaps),
      triggerAuthentications: sorted(r.deps.triggerAuthentications),
      clusterTriggerAuthentications: sorted(r.deps.clusterTriggerAuthentications),
    },
  };
}

/** Fills `out` from one TriggerAuthentication; returns the errors. */
async function resolveAuthRef(
  r: Resolution,
  request: ResolveRequest,
  options: ResolveOptions,
  path: string,
  ref: NonNullable<ScaleTrigger["authenticationRef"]>,
  out: Record<string, string>,
): Promise<string[]> {
  const kind: AuthRefKind = ref.kind ?? "TriggerAuthentication";
  const cluster = kind === "ClusterTriggerAuthentication";
  const refPath = `${path}.authenticationRef`;
  const got = await r.auth(kind, ref.name);
  if (!got.ok) return [`${refPath}: ${got.error}`];
  if (got.value === undefined) {
    return [
      cluster
        ? `${refPath}: ClusterTriggerAuthentication ${JSON.stringify(ref.name)} not found`
        : `${refPath}: TriggerAuthentication ${JSON.stringify(ref.name)} not found in namespace ${JSON.stringify(request.namespace)}`,
    ];
  }
  const spec = got.value;
  const name = cluster ? ref.name : `${request.namespace}/${ref.name}`;
  const ta = `${kind} ${name}`;
  const errors = unsupportedAuthSources(spec).map((u) => `${refPath}: ${ta}: ${u.message}`);
  if (errors.length > 0) return errors;

  const objectNamespace = cluster ? options.clusterObjectNamespace : request.namespace;
  const needsNamespace = (spec.secretTargetRef?.length ?? 0) + (spec.configMapTargetRef?.length ?? 0) > 0;
  if (objectNamespace === undefined && needsNamespace) {
    return [
      `${refPath}: ${ta} reads Secrets and ConfigMaps from lagscale's own namespace, which is unknown: set ${CLUSTER_OBJECT_NAMESPACE_ENV}`,
    ];
  }

  for (const [i, e] of (spec.env ?? []).entries()) {
    const where = `${ta} spec.env[${i}] (parameter ${JSON.stringify(e.parameter)})`;
    const env = await r.containerEnv(e.containerName || undefined);
    if (!env.ok) {
      errors.push(`${refPath}: ${where}: ${env.error}`);
      continue;
    }
    const value = env.value[e.name];
    if (value === undefined) {
      errors.push(
        `${refPath}: ${where}: environment variable ${JSON.stringify(e.name)} is not set in ${e.containerName ? `container ${JSON.stringify(e.containerName)}` : "the first container"} of ${r.templateOwner}`,
      );
      continue;
    }
    out[e.parameter] = value;
  }
  const refs = [
    ["configMapTargetRef", "ConfigMap", spec.configMapTargetRef ?? []],
    ["secretTargetRef", "Secret", spec.secretTargetRef ?? []],
  ] as const;
  for (const [field, objKind, entries] of refs) {
    for (const [i, e] of entries.entries()) {
      const ns = objectNamespace!;
      const where = `${ta} spec.${field}[${i}] (parameter ${JSON.stringify(e.parameter)})`;
      const data = await (objKind === "Secret" ? r.secret(ns, e.name) : r.configMap(ns, e.name));
      if (!data.ok) errors.push(`${refPath}: ${where}: ${data.error}`);
      else if (data.value === undefined) {
        errors.push(
          `${refPath}: ${where}: ${objKind} ${JSON.stringify(e.name)} not found in namespace ${JSON.stringify(ns)}`,
        );
      } else if (data.value[e.key] === undefined) {
        errors.push(`${refPath}: ${where}: ${objKind} ${ns}/${e.name} has no key ${JSON.stringify(e.key)}`);
      } else out[e.parameter] = data.value[e.key]!;
    }
  }
  return errors;
}
