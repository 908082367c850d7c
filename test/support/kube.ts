/**
 * For integration tests on the stack's Kubernetes: its kubeconfig, typed API clients, a namespace per test, and
 * whether the process pod runner is there to run pods.
 */
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { apiStatus } from "../stack/pod-runner/kube.js";
import type { StackInfo } from "../stack/types.js";
import { loadStack } from "./stack.js";
import { waitFor } from "./wait.js";

export function stackKubeConfig(stack: StackInfo = loadStack()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(stack.kubeconfig);
  return kc;
}

export interface Clients {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
}

export function clients(stack: StackInfo = loadStack()): Clients {
  const kc = stackKubeConfig(stack);
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
  };
}

/** Why pod tests cannot run on this stack, or undefined when they can (a local control plane with the runner). */
export function podRunnerMissing(stack: StackInfo): string | undefined {
  if (stack.kube.kind !== "local")
    return "the cluster is external: the process pod runner and its images only exist on the local stack";
  if (!stack.kube.nodeName) return "stack.json names no pod runner node";
  return undefined;
}

/** A fresh namespace, ready for pods (its `default` ServiceAccount exists); `remove` deletes it (without waiting). */
export async function createNamespace(
  core: CoreV1Api,
  prefix: string,
): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  await core.createNamespace({ body: { metadata: { name, labels: { "lagscale.dev/test": prefix } } } });
  await waitFor(`ServiceAccount default in ${name}`, async () => {
    try {
      return await core.readNamespacedServiceAccount({ name: "default", namespace: name });
    } catch (err) {
      if (apiStatus(err) === 404) return undefined;
      throw err;
    }
  });
  return {
    name,
    remove: async () => {
      await core.deleteNamespace({ name }).catch(() => {});
    },
  };
}
