/**
 * What the ScaledObject webhook looks up in the cluster: the other ScaledObjects and the HPAs of the
 * namespace, and whether the scale target exists. `ApiWebhookLookups` asks the API server directly; the
 * controller may pass an implementation over its informer caches instead.
 */
import { API_GROUP, API_VERSION } from "../../core/crd/index.js";
import { AutoscalingV2Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { ObjectApi, readTarget, type TargetRef } from "../auth/sources.js";

/** A scale target reference as written (apiVersion and kind may be missing). */
export interface TargetReference {
  apiVersion?: string;
  kind?: string;
  name: string;
}

export interface ScaledObjectSummary {
  name: string;
  scaleTargetRef: TargetReference;
}

export interface HpaSummary {
  name: string;
  annotations: Record<string, string>;
  ownerReferences: { apiVersion?: string; kind?: string; name?: string }[];
  scaleTargetRef: TargetReference;
}

export interface WebhookLookups {
  listScaledObjects(namespace: string): Promise<ScaledObjectSummary[]>;
  listHorizontalPodAutoscalers(namespace: string): Promise<HpaSummary[]>;
  /** Whether the target exists, or its kind is not served at all. */
  findTarget(namespace: string, target: TargetRef): Promise<"found" | "not-found" | "unknown-kind">;
}

export class ApiWebhookLookups implements WebhookLookups {
  private readonly custom: CustomObjectsApi;
  private readonly autoscaling: AutoscalingV2Api;
  private readonly objects: ObjectApi;

  constructor(kc: KubeConfig) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.autoscaling = kc.makeApiClient(AutoscalingV2Api);
    this.objects = ObjectApi.make(kc);
  }

  async listScaledObjects(namespace: string): Promise<ScaledObjectSummary[]> {
    const list = (await this.custom.listNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: "scaledobjects",
    })) as { items?: { metadata?: { name?: string }; spec?: { scaleTargetRef?: TargetReference } }[] };
    return (list.items ?? []).map((so) => ({
      name: so.metadata?.name ?? "",
      scaleTargetRef: so.spec?.scaleTargetRef ?? { name: "" },
    }));
  }

  async listHorizontalPodAutoscalers(namespace: string): Promise<HpaSummary[]> {
    const list = await this.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace });
    return list.items.map((hpa) => ({
      name: hpa.metadata?.name ?? "",
      annotations: hpa.metadata?.annotations ?? {},
      ownerReferences: hpa.metadata?.ownerReferences ?? [],
      scaleTargetRef: hpa.spec?.scaleTargetRef ?? { name: "" },
    }));
  }

  async findTarget(namespace: string, target: TargetRef): Promise<"found" | "not-found" | "unknown-kind"> {
    const r = await readTarget(this.objects, namespace, target);
    return r.found ? "found" : r.reason;
  }
}
