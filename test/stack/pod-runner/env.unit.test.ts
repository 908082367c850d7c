import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from "@kubernetes/client-node";
import {
  ContainerConfigError,
  expandCommand,
  expandVars,
  fieldRefValue,
  resolveEnv,
  type EnvLookups,
} from "./env.js";

const pod: V1Pod = {
  metadata: {
    name: "web-1",
    namespace: "shop",
    uid: "u-1",
    labels: { app: "web", "app.kubernetes.io/name": "w" },
    annotations: { note: "hi" },
  },
  spec: { containers: [], serviceAccountName: "robot", nodeName: "lagscale-local" },
};
const facts = { podIP: "127.1.0.7", hostIP: "127.0.0.1", nodeName: "lagscale-local" };

const secrets: Record<string, V1Secret> = {
  "shop/creds": { data: { user: Buffer.from("alice").toString("base64"), "bad key": "eA==" } },
};
const configMaps: Record<string, V1ConfigMap> = { "shop/cfg": { data: { LEVEL: "debug", topic: "orders" } } };
const lookups: EnvLookups = {
  getSecret: async (ns, name) => secrets[`${ns}/${name}`],
  getConfigMap: async (ns, name) => configMaps[`${ns}/${name}`],
};

test("$(VAR) expansion follows Kubernetes' rules", () => {
  const vars = { A: "1", EMPTY: "" };
  const table: [string, string][] = [
    ["$(A)", "1"],
    ["x$(A)y$(A)", "x1y1"],
    ["$(MISSING)", "$(MISSING)"],
    ["$$(A)", "$(A)"],
    ["$$", "$"],
    ["$A", "$A"],
    ["$(EMPTY)!", "!"],
    ["cost $", "cost $"],
    ["$(A", "$(A"],
  ];
  for (const [input, want] of table) assert.equal(expandVars(input, vars), want, input);
});

test("fieldRefs give the downward API's values", () => {
  const table: [string, string][] = [
    ["metadata.name", "web-1"],
    ["metadata.namespace", "shop"],
    ["metadata.uid", "u-1"],
    ["spec.nodeName", "lagscale-local"],
    ["spec.serviceAccountName", "robot"],
    ["status.podIP", "127.1.0.7"],
    ["status.hostIP", "127.0.0.1"],
    ["metadata.labels['app.kubernetes.io/name']", "w"],
    ["metadata.annotations['note']", "hi"],
    ["metadata.labels['absent']", ""],
  ];
  for (const [path, want] of table) assert.equal(fieldRefValue(pod, path, facts), want, path);
  assert.throws(() => fieldRefValue(pod, "spec.hostname", facts), ContainerConfigError);
});

test("env: base, then envFrom with prefix, then env in order, with expansion", async () => {
  const container: V1Container = {
    name: "app",
    envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }, { secretRef: { name: "creds" } }],
    env: [
      { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "URL", value: "http://$(IP):8080/$(POD)/$(LATER)" },
      { name: "LATER", value: "x" },
      { name: "TOPIC", valueFrom: { configMapKeyRef: { name: "cfg", key: "topic" } } },
      { name: "PASS", valueFrom: { secretKeyRef: { name: "creds", key: "user" } } },
      { name: "OPT", valueFrom: { secretKeyRef: { name: "nope", key: "k", optional: true } } },
      { name: "BASE", value: "overridden" },
    ],
  };
  const env = await resolveEnv(pod, container, facts, lookups, {
    BASE: "b",
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
  });
  assert.deepEqual(env, {
    BASE: "overridden",
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    CFG_LEVEL: "debug",
    CFG_topic: "orders",
    user: "alice",
    POD: "web-1",
    IP: "127.1.0.7",
    URL: "http://127.1.0.7:8080/web-1/$(LATER)",
    LATER: "x",
    TOPIC: "orders",
    PASS: "alice",
  });
  assert.ok(!("bad key" in env), "keys that are not env names are skipped");
  assert.deepEqual(expandCommand({ name: "c", command: ["echo", "$(POD)"], args: ["$$(POD)"] }, env), {
    command: ["echo", "web-1"],
    args: ["$(POD)"],
  });
});

test("missing non-optional references are config errors naming what is missing", async () => {
  const cases: [V1Container, RegExp][] = [
    [
      { name: "c", envFrom: [{ secretRef: { name: "gone" } }] },
      /envFrom secret "gone" not found in namespace shop/,
    ],
    [{ name: "c", envFrom: [{ configMapRef: { name: "gone" } }] }, /envFrom configmap "gone" not found/],
    [
      { name: "c", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "creds", key: "nokey" } } }] },
      /env X: key "nokey" not found in secret "creds"/,
    ],
    [
      { name: "c", env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "gone", key: "k" } } }] },
      /env X: configmap "gone" not found/,
    ],
    [
      { name: "c", env: [{ name: "X", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } }] },
      /resourceFieldRef is not supported/,
    ],
  ];
  for (const [container, re] of cases) {
    await assert.rejects(resolveEnv(pod, container, facts, lookups), (err: unknown) => {
      assert.ok(err instanceof ContainerConfigError);
      assert.match(err.message, re);
      return true;
    });
  }
  const optional = await resolveEnv(
    pod,
    { name: "c", envFrom: [{ secretRef: { name: "gone", optional: true } }] },
    facts,
    lookups,
  );
  assert.deepEqual(optional, {});
});
