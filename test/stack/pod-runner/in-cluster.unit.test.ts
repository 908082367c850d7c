import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { KubeConfig } from "@kubernetes/client-node";
import { inClusterKubeconfig } from "./in-cluster.js";

test("the in-cluster kubeconfig: real server, the folder's CA, its token re-read, the pod's namespace", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-incluster-"));
  try {
    const sa = path.join(dir, "sa");
    const file = path.join(dir, "kubeconfig.yaml");
    writeFileSync(
      file,
      inClusterKubeconfig({ server: "https://127.0.0.1:6443", serviceAccountDir: sa, namespace: "ns" }),
    );
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    assert.equal(kc.getCurrentCluster()?.server, "https://127.0.0.1:6443");
    assert.equal(kc.getCurrentCluster()?.caFile, path.join(sa, "ca.crt"));
    assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, "ns");
    // The token file does not exist yet at load: client-node's tokenFile provider reads it per request (again
    // after a minute), where `token-file` would be read once at load and a refreshed token never seen.
    mkdirSync(sa);
    writeFileSync(path.join(sa, "token"), "first-token");
    writeFileSync(path.join(sa, "ca.crt"), "");
    const opts: { headers?: Record<string, string> } = {};
    await kc.applyToHTTPSOptions(opts);
    assert.equal(opts.headers?.Authorization, "Bearer first-token");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
