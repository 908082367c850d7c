/**
 * The Node object and its heartbeats: the Ready condition refreshed every 10 s and the Lease in
 * kube-node-lease renewed, so that the node lifecycle controller never marks the node NotReady.
 */
import os from "node:os";
import {
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type CoordinationV1Api,
  type CoreV1Api,
  type V1Lease,
  type V1Node,
  type V1NodeCondition,
  type V1NodeStatus,
} from "@kubernetes/client-node";
import type { Logger } from "../../../core/log.js";
import { apiStatus, describeError, rfc3339 } from "./kube.js";

export const HEARTBEAT_MS = 10_000;
export const LEASE_SECONDS = 40;
const MERGE_PATCH = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface NodeIdentity {
  name: string;
  hostIP: string;
  kubeletVersion: string;
  /** `podman://<version>` when the runner has a container engine; `process://node-<version>` otherwise. */
  containerRuntimeVersion?: string;
}

export const NODE_CAPACITY = { cpu: "32", memory: "64Gi", pods: "250", "ephemeral-storage": "200Gi" };

export function nodeLabels(name: string): Record<string, string> {
  return {
    "kubernetes.io/hostname": name,
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": process.arch === "x64" ? "amd64" : process.arch,
    "beta.kubernetes.io/os": "linux",
    "lagscale.dev/pod-runner": "true",
  };
}

/** The node's status; `previous` keeps each condition's lastTransitionTime while it does not change. */
export function nodeStatus(id: NodeIdentity, now: Date, previous: V1NodeCondition[] = []): V1NodeStatus {
  const cond = (type: string, status: "True" | "False", reason: string, message: string): V1NodeCondition => {
    const prev = previous.find((p) => p.type === type);
    const since =
      prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: rfc3339(now) as unknown as Date,
      lastTransitionTime: since as unknown as Date,
    };
  };
  return {
    capacity: NODE_CAPACITY,
    allocatable: NODE_CAPACITY,
    conditions: [
      cond(
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "pod runner has sufficient memory available",
      ),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "pod runner has no disk pressure"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID", "pod runner has sufficient PID available"),
      cond("Ready", "True", "KubeletReady", "lagscale pod runner is posting ready status"),
    ],
    addresses: [
      { type: "InternalIP", address: id.hostIP },
      { type: "Hostname", address: id.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: "lagscale-pod-runner",
      systemUUID: "lagscale-pod-runner",
      bootID: String(process.pid),
      kernelVersion: os.release(),
      osImage: `${os.type()} (lagscale pod runner)`,
      containerRuntimeVersion: id.containerRuntimeVersion ?? `process://node-${process.version}`,
      kubeletVersion: id.kubeletVersion,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: process.arch === "x64" ? "amd64" : process.arch,
    },
  };
}

export class NodeAgent {
  private timer: NodeJS.Timeout | undefined;
  private nodeUid = "";
  private conditions: V1NodeCondition[] = [];

  constructor(
    private readonly core: CoreV1Api,
    private readonly coordination: CoordinationV1Api,
    private readonly id: NodeIdentity,
    private readonly log: Logger,
  ) {}

  /** Creates (or takes over) the Node, posts a Ready status and the Lease, then keeps both fresh. */
  async register(): Promise<void> {
    let node: V1Node;
    try {
      node = await this.core.readNode({ name: this.id.name });
      node = await this.core.patchNode(
        {
          name: this.id.name,
          body: { metadata: { labels: nodeLabels(this.id.name) }, spec: { unschedulable: false } },
        },
        MERGE_PATCH,
      );
      this.log.info({ node: this.id.name }, "node exists; taking it over");
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
      node = await this.core.createNode({
        body: {
          metadata: { name: this.id.name, labels: nodeLabels(this.id.name) },
          spec: {},
          status: nodeStatus(this.id, new Date()),
        },
      });
      this.log.info({ node: this.id.name }, "node registered");
    }
    this.nodeUid = node.metadata?.uid ?? "";
    this.conditions = node.status?.conditions ?? [];
    await this.heartbeat();
    this.timer = setInterval(() => {
      this.heartbeat().catch((err: unknown) =>
        this.log.warn({ err: describeError(err) }, "node heartbeat failed"),
      );
    }, HEARTBEAT_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async heartbeat(): Promise<void> {
    const status = nodeStatus(this.id, new Date(), this.conditions);
    const node = await this.core.patchNodeStatus({ name: this.id.name, body: { status } }, MERGE_PATCH);
    this.conditions = node.status?.conditions ?? status.conditions ?? [];
    await this.renewLease();
  }

  private async renewLease(): Promise<void> {
    const name = this.id.name;
    const namespace = "kube-node-lease";
    const now = new V1MicroTime();
    let lease: V1Lease | undefined;
    try {
      lease = await this.coordination.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
    }
    if (!lease) {
      await this.coordination.createNamespacedLease({
        namespace,
        body: {
          metadata: {
            name,
            namespace,
            ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: this.nodeUid }],
          },
          spec: { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: now },
        },
      });
      return;
    }
    lease.spec = { ...lease.spec, holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime: now };
    await this.coordination.replaceNamespacedLease({ name, namespace, body: lease });
  }
}
