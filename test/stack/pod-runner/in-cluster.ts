/**
 * The kubeconfig a pod's programs get as KUBECONFIG when they have none: the real API server, the pod's
 * service-account folder's ca.crt, and its token file read through client-node's `tokenFile` auth provider
 * (the one `loadFromCluster()` uses), which reads the file again every minute, so tokens the runner
 * refreshes are used. The programs then act as the pod's ServiceAccount, and RBAC applies.
 */
import path from "node:path";

export function inClusterKubeconfig(opts: {
  server: string;
  serviceAccountDir: string;
  namespace: string;
}): string {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "in-cluster",
        cluster: {
          server: opts.server,
          "certificate-authority": path.join(opts.serviceAccountDir, "ca.crt"),
        },
      },
    ],
    users: [
      {
        name: "service-account",
        user: {
          "auth-provider": {
            name: "tokenFile",
            config: { tokenFile: path.join(opts.serviceAccountDir, "token") },
          },
        },
      },
    ],
    contexts: [
      {
        name: "in-cluster",
        context: { cluster: "in-cluster", user: "service-account", namespace: opts.namespace },
      },
    ],
    "current-context": "in-cluster",
  };
  // JSON is YAML: every kubeconfig reader takes it
  return `${JSON.stringify(config, null, 2)}\n`;
}
