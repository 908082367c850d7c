/**
 * Applies the objects of install.ts to the stack with kubectl (server-side apply, as `helm install` would
 * leave them), waits until the replicas are ready and one of them leads, and removes an install again.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { kubeBinDir } from "../kube/control-plane.js";
import { cacheDir } from "../paths.js";
import { sleep } from "../process.js";
import type { StackInfo } from "../types.js";
import {
  certSecret,
  clusterNames,
  CONTROLLER_APP,
  CONTROLLER_APP_LABEL,
  renderControllerInstall,
  servingCertificate,
  toYamlStream,
  type ControllerInstallOptions,
} from "./install.js";
import { LEADER_LABEL } from "../../../controller/leader/pod-label.js";

const run = promisify(execFile);

export interface ControllerPod {
  name: string;
  ip: string;
  ready: boolean;
  leader: boolean;
  phase: string;
}

export interface InstalledController {
  namespace: string;
  caPem: string;
  /** The controller pods as the API server sees them now. */
  pods(): Promise<ControllerPod[]>;
  /** Waits until `replicas` pods are ready and exactly one carries the leader label; returns them. */
  waitReady(replicas: number, timeoutMs: number): Promise<ControllerPod[]>;
  /** Where a pod's container log is (`<stack>/pods/<ns>/<pod>/controller.log`). */
  logFile(pod: string): string;
  uninstall(): Promise<void>;
}

async function kubectl(stack: StackInfo, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run(
      path.join(kubeBinDir(cacheDir()), "kubectl"),
      ["--kubeconfig", stack.kubeconfig, ...args],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
    );
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.slice(0, 2).join(" ")} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
    status?: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

/** Installs the controller into `o.namespace` (created if missing) and returns a handle; does not wait. */
export async function installController(
  stack: StackInfo,
  o: Omit<ControllerInstallOptions, "caPem">,
): Promise<InstalledController> {
  const ns = o.namespace;
  await kubectl(stack, ["create", "namespace", ns]).catch((err: Error) => {
    if (!/AlreadyExists/.test(err.message)) throw err;
  });
  const certs = await servingCertificate(path.join(stack.dir, "lagscale-install", ns), ns);
  const objects = [
    certSecret(ns, certs.certPem, certs.keyPem, certs.caPem),
    ...renderControllerInstall({ ...o, caPem: certs.caPem }),
  ];
  const file = toYamlStream(objects, path.join(stack.dir, "lagscale-install", ns, "objects.yaml"));
  await kubectl(stack, [
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=lagscale-test",
    "-f",
    file,
  ]);

  const pods = async (): Promise<ControllerPod[]> => {
    const list = JSON.parse(
      await kubectl(stack, [
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        `${CONTROLLER_APP_LABEL}=${CONTROLLER_APP}`,
        "-o",
        "json",
      ]),
    ) as PodList;
    return list.items
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => ({
        name: p.metadata.name,
        ip: p.status?.podIP ?? "",
        phase: p.status?.phase ?? "",
        ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
        leader: p.metadata.labels?.[LEADER_LABEL] === "true",
      }));
  };
  return {
    namespace: ns,
    caPem: certs.caPem,
    pods,
    async waitReady(replicas, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last: ControllerPod[] = [];
      while (Date.now() < deadline) {
        last = await pods();
        const ready = last.filter((p) => p.ready);
        if (ready.length === replicas && last.filter((p) => p.leader).length === 1) return last;
        await sleep(250);
      }
      throw new Error(
        `the controller in ${ns} did not get ${replicas} ready pods and one leader in ${timeoutMs / 1000} s: ${JSON.stringify(last)} (pod logs under ${path.join(stack.dir, "pods", ns)})`,
      );
    },
    logFile: (pod) => path.join(stack.dir, "pods", ns, pod, "controller.log"),
    async uninstall() {
      const names = clusterNames(ns);
      await kubectl(stack, [
        "delete",
        "--ignore-not-found",
        "--wait=false",
        `clusterrole/${names.clusterRole}`,
        `clusterrolebinding/${names.clusterRole}`,
        `validatingwebhookconfiguration/${names.validating}`,
        `mutatingwebhookconfiguration/${names.mutating}`,
      ]);
      await kubectl(stack, ["delete", "namespace", ns, "--ignore-not-found", "--wait=false"]);
    },
  };
}
