/** Helpers for tests that run pods on the stack's pod runner (test/smoke/pods-*.test.ts). */
import { readFileSync } from "node:fs";
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import type { StackInfo } from "../types.js";
import { sleep } from "../process.js";
import { apiStatus } from "./kube.js";

export interface Clients {
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
}

export function clients(stack: StackInfo): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(stack.kubeconfig);
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

/** Polls `check` until it returns a value; the error names `what` and the last thing seen. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (${last})` : ""}`);
    await sleep(250);
  }
}

/** A fresh namespace, ready for pods (its `default` ServiceAccount exists); deleted by the returned function. */
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

/** Whether a live process (not a zombie) with this pid exists on this machine. */
export function processExists(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
