/**
 * Service names for programs the pod runner starts: the table the runner keeps (Service → its loopback
 * address) and how a host name resolves against it, as a pod's resolver with the cluster's search path would
 * (`<svc>.<ns>.svc.cluster.local`, `<svc>.<ns>.svc`, `<svc>.<ns>`, and `<svc>` in the pod's namespace).
 *
 * No imports but node builtins: dns-hook.ts, which loads this into every Node program of a pod, is compiled
 * to plain JavaScript on its own.
 */

export const CLUSTER_DOMAIN = "cluster.local";

/** The file the runner writes: Service (`namespace/name`) → the address the proxy listens on for pods. */
export interface NameTable {
  services: Record<string, string>;
}

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The Service (`namespace/name`) a host name means for a pod in `podNamespace`, or undefined. */
export function serviceKeyOf(host: string, podNamespace: string | undefined): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, "");
  let parts = name.split(".");
  if (parts.some((p) => !LABEL.test(p))) return undefined;
  const suffix = ["svc", ...CLUSTER_DOMAIN.split(".")];
  if (parts.length === 2 + suffix.length && parts.slice(2).join(".") === suffix.join(".")) {
    parts = parts.slice(0, 2);
  } else if (parts.length === 3 && parts[2] === "svc") {
    parts = parts.slice(0, 2);
  }
  if (parts.length === 2) return `${parts[1]}/${parts[0]}`;
  if (parts.length === 1 && podNamespace) return `${podNamespace}/${parts[0]}`;
  return undefined;
}

/** The address a host name resolves to through the table, or undefined (then the normal resolver answers). */
export function resolveServiceName(
  table: NameTable,
  host: string,
  podNamespace: string | undefined,
): string | undefined {
  const key = serviceKeyOf(host, podNamespace);
  return key === undefined ? undefined : table.services[key];
}

/** A table read from a file, tolerating anything else (a half-written or foreign file resolves nothing). */
export function parseNameTable(text: string): NameTable {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null) return { services: {} };
    const services = (parsed as { services?: unknown }).services;
    if (typeof services !== "object" || services === null) return { services: {} };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(services)) if (typeof v === "string") out[k] = v;
    return { services: out };
  } catch {
    return { services: {} };
  }
}
