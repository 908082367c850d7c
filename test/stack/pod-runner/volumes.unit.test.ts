import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { ContainerConfigError, type EnvLookups } from "./env.js";
import {
  downwardFiles,
  keyFiles,
  materializeVolumes,
  volumeEnv,
  volumeEnvName,
  SERVICEACCOUNT_MOUNT,
} from "./volumes.js";

test("volume env names", () => {
  assert.equal(volumeEnvName("kube-api-access-x7k2p"), "KUBE_API_ACCESS_X7K2P");
  assert.equal(volumeEnvName("report.token"), "REPORT_TOKEN");
});

test("configMap/secret keys become files, all or by items", () => {
  const data = { a: "1", b: "2" };
  assert.deepEqual(keyFiles(data, undefined, "v", false), [
    { path: "a", content: "1" },
    { path: "b", content: "2" },
  ]);
  assert.deepEqual(keyFiles(data, [{ key: "b", path: "conf/b.txt" }], "v", false), [
    { path: "conf/b.txt", content: "2" },
  ]);
  assert.throws(
    () => keyFiles(data, [{ key: "c", path: "c" }], "volume v", false),
    /volume v: key "c" not found/,
  );
  assert.deepEqual(keyFiles(data, [{ key: "c", path: "c" }], "v", true), []);
  assert.throws(() => keyFiles(data, [{ key: "a", path: "../escape" }], "v", false), ContainerConfigError);
  assert.throws(() => keyFiles(data, [{ key: "a", path: "/abs" }], "v", false), /must be relative/);
});

test("downwardAPI files", () => {
  const pod: V1Pod = { metadata: { name: "p", namespace: "n", labels: { b: "2", a: 'x"y' } } };
  const facts = { podIP: "127.1.0.2", hostIP: "127.0.0.1", nodeName: "node" };
  assert.deepEqual(
    downwardFiles(
      pod,
      [
        { path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } },
        { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
        { path: "ip", fieldRef: { fieldPath: "status.podIP" } },
      ],
      facts,
      "v",
    ),
    [
      { path: "namespace", content: "n" },
      { path: "labels", content: 'a="x\\"y"\nb="2"' },
      { path: "ip", content: "127.1.0.2" },
    ],
  );
  assert.throws(
    () => downwardFiles(pod, [{ path: "cpu", resourceFieldRef: { resource: "limits.cpu" } }], facts, "v"),
    /only fieldRef/,
  );
});

test("volume env tells a container where its mounts, tokens and service account are", () => {
  const vols = {
    dirs: {
      "kube-api-access-abc": "/s/volumes/kube-api-access-abc",
      report: "/s/volumes/report",
      cfg: "/s/volumes/cfg",
    },
    tokens: [
      {
        volume: "kube-api-access-abc",
        file: "/s/volumes/kube-api-access-abc/token",
        audiences: [],
        expirationSeconds: 3607,
        mode: 0o644,
      },
      {
        volume: "report",
        file: "/s/volumes/report/token",
        audiences: ["lagscale"],
        expirationSeconds: 600,
        mode: 0o644,
      },
    ],
  };
  const env = volumeEnv(
    {
      volumeMounts: [
        { name: "kube-api-access-abc", mountPath: SERVICEACCOUNT_MOUNT },
        { name: "report", mountPath: "/var/run/lagscale" },
        { name: "cfg", mountPath: "/etc/app/app.conf", subPath: "app.conf" },
        { name: "unknown", mountPath: "/x" },
      ],
    },
    vols,
  );
  assert.equal(env.LAGSCALE_SERVICEACCOUNT_DIR, "/s/volumes/kube-api-access-abc");
  assert.equal(env.LAGSCALE_TOKEN_REPORT, "/s/volumes/report/token");
  assert.equal(env.LAGSCALE_TOKEN_KUBE_API_ACCESS_ABC, "/s/volumes/kube-api-access-abc/token");
  assert.equal(env.LAGSCALE_VOLUME_CFG, "/s/volumes/cfg/app.conf");
  assert.deepEqual(JSON.parse(env.LAGSCALE_MOUNTS ?? ""), {
    [SERVICEACCOUNT_MOUNT]: "/s/volumes/kube-api-access-abc",
    "/var/run/lagscale": "/s/volumes/report",
    "/etc/app/app.conf": "/s/volumes/cfg/app.conf",
  });
  const fallback = volumeEnv({}, { dirs: { ".serviceaccount": "/s/volumes/.serviceaccount" }, tokens: [] });
  assert.equal(fallback.LAGSCALE_SERVICEACCOUNT_DIR, "/s/volumes/.serviceaccount");
});

test("volume files get the kubelet's modes: item mode, else defaultMode, else 0644; emptyDir 0777", async (t) => {
  const podDir = mkdtempSync(path.join(tmpdir(), "volumes-modes-"));
  t.after(() => rmSync(podDir, { recursive: true, force: true }));
  // Lookups from maps (no API server): the pod mounts no token, so TokenRequest is never called.
  const lookups: EnvLookups = {
    getSecret: (_ns, name) => Promise.resolve(name === "s" ? { data: { a: "YQ==", b: "Yg==" } } : undefined),
    getConfigMap: (_ns, name) => Promise.resolve(name === "c" ? { data: { conf: "x" } } : undefined),
  };
  const pod: V1Pod = {
    metadata: { name: "p", namespace: "n" },
    spec: {
      automountServiceAccountToken: false,
      containers: [{ name: "app" }],
      volumes: [
        {
          name: "secret",
          secret: {
            secretName: "s",
            items: [
              { key: "a", path: "a" },
              { key: "b", path: "b", mode: 0o400 },
            ],
          },
        },
        { name: "config", configMap: { name: "c", defaultMode: 0o440 } },
        {
          name: "down",
          downwardAPI: { items: [{ path: "ns", fieldRef: { fieldPath: "metadata.namespace" } }] },
        },
        { name: "scratch", emptyDir: {} },
      ],
    },
  };
  const facts = { podIP: "127.1.0.2", hostIP: "127.0.0.1", nodeName: "node" };
  const deps = { api: {} as CoreV1Api, lookups, caPem: "" };
  const vols = await materializeVolumes(pod, podDir, facts, deps);
  const mode = (...p: string[]) => statSync(path.join(...p)).mode & 0o777;
  assert.equal(mode(vols.dirs.secret!, "a"), 0o644);
  assert.equal(mode(vols.dirs.secret!, "b"), 0o400);
  assert.equal(mode(vols.dirs.config!, "conf"), 0o440);
  assert.equal(mode(vols.dirs.down!, "ns"), 0o644);
  assert.equal(mode(vols.dirs.scratch!), 0o777);
});
