/**
 * What the injector reads from the cluster, behind one small interface: the ReplicaSet between a pod and
 * its Deployment, the ScaledObjects of the pod's namespace, and TriggerAuthentications. `ApiInjectLookups`
 * asks the API server directly (one GET or LIST per call); the tests pass fakes. RBAC: get replicasets;
 * list scaledobjects; get triggerauthentications and clustertriggerauthentications (docs/injection.md).
 */
import { ApiException, AppsV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import {
  API_GROUP,
  API_VERSION,
  type ScaleTrigger,
  type TriggerAuthenticationSpec,
} from "../../core/crd/index.js";
import { ApiAuthSources, type AuthRefKind } from "../auth/sources.js";
import type { ScaledObjectView } from "./settings.js";

/** An owner reference, as the pod or ReplicaSet carries it. */
export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
}

export type ReplicaSetLookup = { found: false } | { found: true; owner?: OwnerRef };

export interface InjectLookups {
  /** The ReplicaSet's controller (a Deployment, usually), or none; `found: false` when it does not exist. */
  replicaSetOwner(namespace: string, name: string): Promise<ReplicaSetLookup>;
  listScaledObjects(namespace: string): Promise<ScaledObjectView[]>;
  /** The spec, or undefined when it does not exist (ClusterTriggerAuthentication: namespace ignored). */
  getTriggerAuthentication(
    kind: AuthRefKind,
    namespace: string,
    name: string,
  ): Promise<TriggerAuthenticationSpec | undefined>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The controller reference among `refs` (the one with `controller: true`), if well formed. */
export function controllerOf(refs: unknown): OwnerRef | undefined {
  if (!Array.isArray(refs)) return undefined;
  const ref: unknown = refs.find((r) => isRecord(r) && r["controller"] === true);
  if (!isRecord(ref)) return undefined;
  const { apiVersion, kind, name, uid } = ref;
  if (typeof apiVersion !== "string" || typeof kind !== "string" || typeof name !== "string")
    return undefined;
  return { apiVersion, kind, name, ...(typeof uid === "string" ? { uid } : {}) };
}

/** A listed ScaledObject read defensively (the CRD's schema applies, but a view needs only some fields). */
export function scaledObjectView(obj: unknown): ScaledObjectView | undefined {
  if (!isRecord(obj) || !isRecord(obj["metadata"]) || !isRecord(obj["spec"])) return undefined;
  const name = obj["metadata"]["name"];
  const ref = obj["spec"]["scaleTargetRef"];
  const triggers = obj["spec"]["triggers"];
  if (
    typeof name !== "string" ||
    !isRecord(ref) ||
    typeof ref["name"] !== "string" ||
    !Array.isArray(triggers)
  ) {
    return undefined;
  }
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const scaleTargetRef: ScaledObjectView["scaleTargetRef"] = { name: ref["name"] };
  for (const k of ["apiVersion", "kind", "envSourceContainerName"] as const) {
    const v = str(ref[k]);
    if (v !== undefined) scaleTargetRef[k] = v;
  }
  const views: ScaleTrigger[] = [];
  for (const t of triggers) {
    if (!isRecord(t) || typeof t["type"] !== "string" || !isRecord(t["metadata"])) continue;
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(t["metadata"])) if (typeof v === "string") metadata[k] = v;
    const view: ScaleTrigger = { type: t["type"], metadata };
    if (typeof t["name"] === "string") view.name = t["name"];
    const auth = t["authenticationRef"];
    if (isRecord(auth) && typeof auth["name"] === "string") {
      view.authenticationRef = {
        name: auth["name"],
        ...(auth["kind"] === "ClusterTriggerAuthentication"
          ? { kind: "ClusterTriggerAuthentication" as const }
          : {}),
      };
    }
    views.push(view);
  }
  return { name, scaleTargetRef, triggers: views };
}

export class ApiInjectLookups implements InjectLookups {
  private readonly apps: AppsV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly auth: ApiAuthSources;

  constructor(kc: KubeConfig) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.auth = new ApiAuthSources(kc);
  }

  async replicaSetOwner(namespace: string, name: string): Promise<ReplicaSetLookup> {
    try {
      const rs = await this.apps.readNamespacedReplicaSet({ namespace, name });
      const owner = controllerOf(rs.metadata?.ownerReferences);
      return owner ? { found: true, owner } : { found: true };
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return { found: false };
      throw err;
    }
  }

  async listScaledObjects(namespace: string): Promise<ScaledObjectView[]> {
    const list = (await this.custom.listNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: "scaledobjects",
    })) as { items?: unknown[] };
    return (list.items ?? []).flatMap((o) => {
      const v = scaledObjectView(o);
      return v ? [v] : [];
    });
  }

  getTriggerAuthentication(
    kind: AuthRefKind,
    namespace: string,
    name: string,
  ): Promise<TriggerAuthenticationSpec | undefined> {
    return this.auth.getTriggerAuthentication(kind, namespace, name);
  }
}
