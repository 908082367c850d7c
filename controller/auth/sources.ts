/**
 * What the trigger-input resolver reads from the cluster, behind one small interface: Secrets, ConfigMaps,
 * TriggerAuthentications and the scale target's pod template. `ApiAuthSources` reads them straight from
 * the API server; the controller may pass its informer caches instead. The resolver (`resolve.ts`) is a
 * pure function of these answers.
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, type TriggerAuthenticationSpec } from "../../core/crd/index.js";

/** The fields of a core/v1 EnvVar the resolver reads. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key: string; optional?: boolean };
    configMapKeyRef?: { name?: string; key: string; optional?: boolean };
    fieldRef?: unknown;
    resourceFieldRef?: unknown;
  };
}

/** The fields of a core/v1 EnvFromSource the resolver reads. */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}

export interface Container {
  name: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
}

/** A pod template (`spec.template` of a Deployment, `jobTargetRef.template` of a ScaledJob). */
export interface PodTemplate {
  spec?: { containers?: Container[] };
}

/** A ScaledObject's `scaleTargetRef`, defaults applied (apps/v1, Deployment). */
export interface TargetRef {
  apiVersion: string;
  kind: string;
  name: string;
}

export type AuthRefKind = "TriggerAuthentication" | "ClusterTriggerAuthentication";

/** The answer about a scale target: missing, of a kind the API server does not serve, or found. */
export type TargetLookup =
  | { found: false; reason: "not-found" | "unknown-kind" }
  /** `template` is undefined when the object has no `spec.template` (a custom resource, say). */
  | { found: true; template?: PodTemplate };

export interface AuthSources {
  /** A Secret's data decoded to strings, or undefined when there is no such Secret. */
  getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** A ConfigMap's `data`, or undefined when there is no such ConfigMap. */
  getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /**
   * The spec of a TriggerAuthentication (in `namespace`) or ClusterTriggerAuthentication (namespace
   * ignored), or undefined when it does not exist.
   */
  getTriggerAuthentication(
    kind: AuthRefKind,
    namespace: string,
    name: string,
  ): Promise<TriggerAuthenticationSpec | undefined>;
  /** The scale target's pod template. */
  getPodTemplate(namespace: string, target: TargetRef): Promise<TargetLookup>;
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

/** Reads everything directly from the API server (one GET per call, no cache). */
export class ApiAuthSources implements AuthSources {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly objects: ObjectApi;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.objects = ObjectApi.make(kc);
  }

  async getSecret(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ name, namespace });
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(secret.data ?? {}))
        out[k] = Buffer.from(v, "base64").toString("utf8");
      return out;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getConfigMap(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const cm = await this.core.readNamespacedConfigMap({ name, namespace });
      return { ...(cm.data ?? {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getTriggerAuthentication(
    kind: AuthRefKind,
    namespace: string,
    name: string,
  ): Promise<TriggerAuthenticationSpec | undefined> {
    try {
      const obj = (
        kind === "ClusterTriggerAuthentication"
          ? await this.custom.getClusterCustomObject({
              group: API_GROUP,
              version: API_VERSION,
              plural: "clustertriggerauthentications",
              name,
            })
          : await this.custom.getNamespacedCustomObject({
              group: API_GROUP,
              version: API_VERSION,
              namespace,
              plural: "triggerauthentications",
              name,
            })
      ) as { spec?: TriggerAuthenticationSpec };
      return obj.spec ?? {};
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async getPodTemplate(namespace: string, target: TargetRef): Promise<TargetLookup> {
    return readTarget(this.objects, namespace, target);
  }
}

/** client-node's generic object client, with its (cached) discovery lookup made public. */
export class ObjectApi extends KubernetesObjectApi {
  static make(kc: KubeConfig): ObjectApi {
    const client = kc.makeApiClient(ObjectApi);
    client.setDefaultNamespace(kc);
    return client;
  }

  /** The resource serving `kind` in `apiVersion`, or undefined (discovery is cached and refreshed on a miss). */
  kindResource(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean } | undefined> {
    return this.resource(apiVersion, kind);
  }
}

/**
 * Reads any namespaced object by apiVersion and kind (through discovery), answering whether it exists
 * and its `spec.template`. Shared with the webhook's target check.
 */
export async function readTarget(
  objects: ObjectApi,
  namespace: string,
  target: TargetRef,
): Promise<TargetLookup> {
  let resource: { name: string } | undefined;
  try {
    resource = await objects.kindResource(target.apiVersion, target.kind);
  } catch (err) {
    // The API server answers 404 for an API group/version it does not serve.
    if (isNotFound(err)) return { found: false, reason: "unknown-kind" };
    throw err;
  }
  if (!resource) return { found: false, reason: "unknown-kind" };
  try {
    const obj = (await objects.read({
      apiVersion: target.apiVersion,
      kind: target.kind,
      metadata: { name: target.name, namespace },
    })) as { spec?: { template?: PodTemplate } };
    const template = obj.spec?.template;
    return template ? { found: true, template } : { found: true };
  } catch (err) {
    if (isNotFound(err)) return { found: false, reason: "not-found" };
    throw err;
  }
}
