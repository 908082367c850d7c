/** Small helpers around @kubernetes/client-node for the pod runner. */
import { readFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

export function loadKubeConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new Error(`cannot load kubeconfig ${file}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${file} has no current cluster`);
  return kc;
}

/** Host and port of the API server, for KUBERNETES_SERVICE_HOST/PORT inside pods. */
export function apiServerAddress(kc: KubeConfig): { host: string; port: string } {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("kubeconfig has no server for its current cluster");
  const url = new URL(server);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port || (url.protocol === "https:" ? "443" : "80"),
  };
}

/** The cluster CA (PEM) from the kubeconfig, for ca.crt in service-account folders; "" when it has none. */
export function clusterCaPem(kc: KubeConfig): string {
  const cluster = kc.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, "base64").toString("utf8");
  if (cluster?.caFile) return readFileSync(cluster.caFile, "utf8");
  return "";
}

/** The HTTP status of a failed API call, if it was one. */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "number") return code;
  }
  return undefined;
}

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const body = (err as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return body.slice(0, 300);
    }
  } else if (typeof body === "object" && body !== null && "message" in body) {
    return String((body as { message: unknown }).message);
  }
  return err.message;
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
