/**
 * Reading and writing the `/scale` subresource of any scalable workload, named by a ScaledObject's
 * `scaleTargetRef` (default apps/v1 Deployment, as KEDA). The kind is resolved to its resource through
 * discovery, and a kind without a `/scale` subresource is refused with an error that says so.
 *
 * Current replicas are `spec.replicas` of the scale subresource, which is what KEDA reads.
 */
import { Discovery, type ResolvedKind } from "./discovery.js";
import { resourcePath } from "./resources.js";
import type { KubeRest } from "./rest.js";
import type { TargetCache } from "./targets.js";
import { errorText } from "../../core/errors.js";

export interface ScaleTargetRef {
  /** Default apps/v1. */
  apiVersion?: string;
  /** Default Deployment. */
  kind?: string;
  name: string;
}

/** What `/scale` says about a target. */
export interface ScaleInfo {
  namespace: string;
  name: string;
  target: ResolvedKind;
  /** spec.replicas: the replicas asked for, i.e. the current replicas as KEDA reads them. */
  replicas: number;
  /** status.replicas: the replicas that exist. */
  statusReplicas: number;
  /** status.selector: the label selector of the target's pods, as a string ("app=consumer"). */
  selector: string | undefined;
  resourceVersion: string | undefined;
}

interface ScaleObject {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

/** The target's kind exists but cannot be scaled. */
export class NotScalableError extends Error {
  override readonly name = "NotScalableError";
  constructor(readonly target: ResolvedKind & { name: string; namespace: string }) {
    const gv = target.group ? `${target.group}/${target.version}` : target.version;
    super(
      `${target.kind} ${target.namespace}/${target.name} (${gv}, resource ${target.resource}) does not have a /scale subresource`,
    );
  }
}

/** "apps/v1.Deployment", the form of KEDA's status.scaleTargetKind. */
export function scaleTargetKind(t: Pick<ResolvedKind, "group" | "version" | "kind">): string {
  return `${t.group ? `${t.group}/` : ""}${t.version}.${t.kind}`;
}

export function withDefaults(ref: ScaleTargetRef): Required<ScaleTargetRef> {
  return { apiVersion: ref.apiVersion || "apps/v1", kind: ref.kind || "Deployment", name: ref.name };
}

export class ScaleClient {
  /** Deployments and StatefulSets from informers (targets.ts); absent: every read goes to `/scale`. */
  private targets: TargetCache | undefined;

  constructor(
    private readonly rest: KubeRest,
    readonly discovery: Discovery = new Discovery(rest),
  ) {}

  /** Reads the kinds `targets` holds from it from now on. */
  useCache(targets: TargetCache): void {
    this.targets = targets;
  }

  /**
   * The target's kind as the API server knows it, checked to have `/scale`. Throws NotScalableError, or an
   * error naming the apiVersion and kind when the API server does not serve them. Does not check that the
   * object exists.
   */
  async resolve(namespace: string, ref: ScaleTargetRef): Promise<ResolvedKind> {
    const { apiVersion, kind, name } = withDefaults(ref);
    let target: ResolvedKind;
    try {
      target = await this.discovery.resolve(apiVersion, kind);
    } catch (err) {
      throw new Error(`scale target ${kind} ${namespace}/${name}: ${errorText(err)}`, { cause: err });
    }
    if (!target.scalable) throw new NotScalableError({ ...target, name, namespace });
    return target;
  }

  /**
   * `/scale` of the target (a 404 KubeApiError when the object does not exist), from the target cache when
   * it holds the kind.
   */
  async get(namespace: string, ref: ScaleTargetRef): Promise<ScaleInfo> {
    const target = await this.resolve(namespace, ref);
    const cached = this.targets?.scale(namespace, target, ref.name);
    if (cached) return cached;
    const scale = await this.rest.get<ScaleObject>(
      resourcePath(this.typeOf(target), namespace, ref.name, "scale"),
    );
    return toInfo(namespace, ref.name, target, scale);
  }

  /** Sets spec.replicas through `/scale` (a merge patch, so it never conflicts) and returns the new scale. */
  async setReplicas(namespace: string, ref: ScaleTargetRef, replicas: number): Promise<ScaleInfo> {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new Error(
        `scale ${ref.kind ?? "Deployment"} ${namespace}/${ref.name}: invalid replicas ${replicas}`,
      );
    }
    const target = await this.resolve(namespace, ref);
    const scale = await this.rest.patch<ScaleObject>(
      resourcePath(this.typeOf(target), namespace, ref.name, "scale"),
      { spec: { replicas } },
      "merge",
    );
    const info = toInfo(namespace, ref.name, target, scale);
    this.targets?.wrote(info);
    return info;
  }

  private typeOf(target: ResolvedKind) {
    return {
      group: target.group,
      version: target.version,
      plural: target.resource,
      namespaced: target.namespaced,
    };
  }
}

function toInfo(namespace: string, name: string, target: ResolvedKind, scale: ScaleObject): ScaleInfo {
  return {
    namespace,
    name,
    target,
    replicas: scale.spec?.replicas ?? 0,
    statusReplicas: scale.status?.replicas ?? 0,
    selector: scale.status?.selector || undefined,
    resourceVersion: scale.metadata?.resourceVersion,
  };
}
