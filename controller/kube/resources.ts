/**
 * The resources the controller reads and writes, their REST paths, and object keys ("namespace/name", or
 * "name" for cluster-scoped objects, as client-go's MetaNamespaceKeyFunc).
 *
 * Built-in objects are typed with the few fields lagscale reads, as the API server sends them (timestamps are
 * RFC 3339 strings), not with client-node's generated classes (which expect Date objects).
 */
import {
  API_GROUP,
  API_VERSION,
  type ClusterTriggerAuthentication,
  type ScaledJob,
  type ScaledObject,
  type TriggerAuthentication,
} from "../../core/crd/index.js";

/** Object metadata as lagscale reads it from the API server. */
export interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}

/** Any Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface Secret extends KubeObject {
  type?: string;
  /** Base64-encoded values. */
  data?: Record<string, string>;
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface HorizontalPodAutoscaler extends KubeObject {
  spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } };
}

export interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers?: { name: string }[] };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
  };
}

/** A resource type: where its objects live in the API and what they look like (`T`). */
export interface ResourceType<T extends KubeObject = KubeObject> {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** The resource name, e.g. "scaledobjects". */
  readonly plural: string;
  readonly namespaced: boolean;
  /** Type marker only; never set. */
  readonly __object?: T;
}

function type<T extends KubeObject>(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced = true,
): ResourceType<T> {
  return { group, version, kind, plural, namespaced };
}

export const SCALED_OBJECTS = type<ScaledObject>(API_GROUP, API_VERSION, "ScaledObject", "scaledobjects");
export const SCALED_JOBS = type<ScaledJob>(API_GROUP, API_VERSION, "ScaledJob", "scaledjobs");
export const TRIGGER_AUTHENTICATIONS = type<TriggerAuthentication>(
  API_GROUP,
  API_VERSION,
  "TriggerAuthentication",
  "triggerauthentications",
);
export const CLUSTER_TRIGGER_AUTHENTICATIONS = type<ClusterTriggerAuthentication>(
  API_GROUP,
  API_VERSION,
  "ClusterTriggerAuthentication",
  "clustertriggerauthentications",
  false,
);
export const SECRETS = type<Secret>("", "v1", "Secret", "secrets");
export const CONFIG_MAPS = type<ConfigMap>("", "v1", "ConfigMap", "configmaps");
export const PODS = type<Pod>("", "v1", "Pod", "pods");
export const HORIZONTAL_POD_AUTOSCALERS = type<HorizontalPodAutoscaler>(
  "autoscaling",
  "v2",
  "HorizontalPodAutoscaler",
  "horizontalpodautoscalers",
);

export function apiVersionOf(t: Pick<ResourceType, "group" | "version">): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/**
 * `/api/v1/namespaces/ns/pods/name/status`-style path. A namespace is required for namespaced types when a
 * name is given; without a namespace and name it is the all-namespaces collection.
 */
export function resourcePath(
  t: Pick<ResourceType, "group" | "version" | "plural" | "namespaced">,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  let p = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  if (t.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  else if (t.namespaced && name)
    throw new Error(`${t.plural} ${name}: namespaced resource needs a namespace`);
  p += `/${t.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** "namespace/name", or "name" for a cluster-scoped object. */
export function objectKey(obj: KubeObject): string {
  const name = obj.metadata?.name ?? "";
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

export function parseKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * The namespaces to watch from WATCH_NAMESPACE, as KEDA reads it: a comma list; unset or empty means all
 * namespaces (returned as undefined).
 */
export function watchNamespacesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const list = (env.WATCH_NAMESPACE ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.length > 0 ? [...new Set(list)] : undefined;
}

/**
 * The object without `metadata.managedFields` and kubectl's last-applied annotation: server-side bookkeeping
 * that is often larger than the object and that lagscale never reads (an informer's `transform`).
 */
export function withoutBookkeeping<T extends KubeObject>(o: T): T {
  if (!o.metadata) return o;
  const { managedFields: _managed, ...metadata } = o.metadata as Meta & { managedFields?: unknown };
  const annotations = metadata.annotations;
  if (annotations && LAST_APPLIED in annotations) {
    const { [LAST_APPLIED]: _applied, ...rest } = annotations;
    metadata.annotations = rest;
  }
  return { ...o, metadata };
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
