/**
 * The pure part of the runner's Service proxy: which Services it serves, which pods a Service port leads to
 * right now, and the EndpointSlice that tells the API server where the proxy listens for a Service.
 *
 * Pod IPs are loopback addresses, which EndpointSlices refuse, so the API server cannot be pointed at pods:
 * it is pointed at the proxy (on the machine's non-loopback address), which picks a ready selected pod for
 * each connection. See service-proxy.ts for the I/O.
 */
import type { V1ContainerPort, V1EndpointSlice, V1Service, V1ServicePort } from "@kubernetes/client-node";

/** `endpointslice.kubernetes.io/managed-by` of our slices: kube-controller-manager leaves other values alone. */
export const SLICE_MANAGER = "pod-runner.lagscale.io";
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";

/** What the proxy needs to know of a pod the runner runs. */
export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  ip: string;
  labels: Record<string, string>;
  /** The pod's Ready condition. */
  ready: boolean;
  /** Every container's ports (for targetPort by name). */
  ports: V1ContainerPort[];
}

export interface Backend {
  uid: string;
  pod: string;
  ip: string;
  port: number;
}

/** A Service selects a pod when every selector label matches; a Service without a selector selects none. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Services the proxy serves: a selector, not ExternalName. */
export function isProxied(svc: V1Service): boolean {
  return Object.keys(svc.spec?.selector ?? {}).length > 0 && svc.spec?.type !== "ExternalName";
}

/** The TCP ports of a Service (the proxy forwards TCP only). */
export function tcpPorts(svc: V1Service): V1ServicePort[] {
  return (svc.spec?.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP");
}

/**
 * The pod port a Service port leads to: targetPort as a number, or the container port of that name
 * (TCP), or the Service port itself when targetPort is unset. Undefined when the pod has no such named port.
 */
export function targetPortOf(port: V1ServicePort, pod: Pick<PodView, "ports">): number | undefined {
  const target = port.targetPort as number | string | undefined;
  if (target === undefined || target === "") return port.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  const named = pod.ports.find((p) => p.name === target && (p.protocol ?? "TCP") === "TCP");
  return named?.containerPort;
}

/** The ready pods of the Service's namespace that it selects and that have the port: where connections go. */
export function backendsFor(svc: V1Service, port: V1ServicePort, pods: PodView[]): Backend[] {
  const ns = svc.metadata?.namespace ?? "default";
  const out: Backend[] = [];
  for (const pod of pods) {
    if (pod.namespace !== ns || !pod.ready || !selects(svc.spec?.selector, pod.labels)) continue;
    const target = targetPortOf(port, pod);
    if (target === undefined) continue;
    out.push({ uid: pod.uid, pod: `${pod.namespace}/${pod.name}`, ip: pod.ip, port: target });
  }
  return out.sort((a, b) => a.pod.localeCompare(b.pod));
}

/** Round-robin: the `turn`-th connection goes to backend `turn mod n`; undefined when there is none. */
export function pickBackend(backends: Backend[], turn: number): Backend | undefined {
  return backends.length === 0 ? undefined : backends[turn % backends.length];
}

export function sliceName(svc: V1Service): string {
  return `${svc.metadata?.name ?? ""}-lagscale`;
}

/**
 * The EndpointSlice for a Service: one endpoint, the proxy's address, with one port per Service port named as
 * the Service port (that is how the API server maps `clientConfig.service.port` to an endpoint port), ready
 * while a selected pod is. Owned by the Service, so it goes when the Service goes even if the runner is down.
 */
export function renderEndpointSlice(
  svc: V1Service,
  address: string,
  listeners: { name: string; port: number }[],
  ready: boolean,
): V1EndpointSlice {
  const name = svc.metadata?.name ?? "";
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: sliceName(svc),
      namespace: svc.metadata?.namespace ?? "default",
      labels: { [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: SLICE_MANAGER },
      ...(svc.metadata?.uid
        ? {
            ownerReferences: [
              {
                apiVersion: "v1",
                kind: "Service",
                name,
                uid: svc.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    addressType: "IPv4",
    endpoints: [{ addresses: [address], conditions: { ready, serving: ready, terminating: false } }],
    ports: listeners.map((l) => ({ name: l.name, port: l.port, protocol: "TCP" })),
  };
}
