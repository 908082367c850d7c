import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Pod } from "@kubernetes/client-node";
import { applyAddPatch, consumerPod } from "../../test/support/inject.js";
import { INJECT_STATUS_ANNOTATION } from "./optin.js";
import { alreadyInjected, injectionPatch } from "./patch.js";
import {
  SIDECAR_CONTAINER,
  SIDECAR_TOKEN_VOLUME,
  sidecarContainer,
  type SidecarSettings,
} from "./sidecar.js";

const settings: SidecarSettings = {
  image: "lagscale/sidecar:0.1.0",
  scaledObject: "orders",
  bootstrapServers: "kafka:9092",
  consumerGroup: "orders",
  lagThreshold: 50,
  reportUrl: "https://lagscale-reports.lagscale.svc:9444/v1/reports",
};
const status = { version: "0.1.0", scaledObject: "orders", trigger: 0 };

test("the patch adds the lists a pod lacks, and appends to those it has", () => {
  const bare = consumerPod();
  const withLists: V1Pod = structuredClone(bare);
  withLists.spec!.initContainers = [{ name: "migrate", image: "example/migrate:1" }];
  withLists.spec!.volumes = [{ name: "data", emptyDir: {} }];
  withLists.metadata!.annotations = { "a/b~c": "x" };
  const cases: [string, V1Pod, string[]][] = [
    [
      "no init containers, volumes or annotations",
      bare,
      ["/spec/initContainers", "/spec/volumes", "/metadata/annotations"],
    ],
    [
      "all three present",
      withLists,
      ["/spec/initContainers/-", "/spec/volumes/-", "/metadata/annotations/lagscale.io~1inject-status"],
    ],
  ];
  for (const [name, pod, paths] of cases) {
    const ops = injectionPatch(pod, settings, status);
    assert.deepEqual(
      ops.map((o) => o.path),
      paths,
      name,
    );
    const patched = applyAddPatch(pod, ops);
    const init = patched.spec!.initContainers!;
    assert.equal(
      init.at(-1)!.name,
      SIDECAR_CONTAINER,
      `${name}: the sidecar runs after the pod's own init containers`,
    );
    assert.equal(init.at(-1)!.restartPolicy, "Always", `${name}: a native sidecar`);
    assert.deepEqual(init.at(-1), sidecarContainer(settings), `${name}: the container is sidecar.ts's`);
    assert.equal(init.length, (pod.spec!.initContainers?.length ?? 0) + 1);
    assert.equal(patched.spec!.volumes!.at(-1)!.name, SIDECAR_TOKEN_VOLUME);
    assert.equal(patched.spec!.volumes!.length, (pod.spec!.volumes?.length ?? 0) + 1);
    assert.deepEqual(patched.spec!.containers, pod.spec!.containers, `${name}: the consumer is untouched`);
    for (const [k, v] of Object.entries(pod.metadata!.annotations ?? {})) {
      assert.equal(patched.metadata!.annotations![k], v, `${name}: annotation ${k} stays`);
    }
    assert.deepEqual(JSON.parse(patched.metadata!.annotations![INJECT_STATUS_ANNOTATION]!), {
      version: "0.1.0",
      scaledObject: "orders",
      trigger: 0,
      image: "lagscale/sidecar:0.1.0",
      containers: [SIDECAR_CONTAINER],
      volumes: [SIDECAR_TOKEN_VOLUME],
    });
    assert.ok(alreadyInjected(patched), `${name}: a patched pod counts as injected`);
  }
});

test("already injected: the sidecar container or the status annotation", () => {
  const cases: [string, (p: V1Pod) => void, boolean][] = [
    ["a plain pod", () => undefined, false],
    ["the status annotation", (p) => (p.metadata!.annotations = { [INJECT_STATUS_ANNOTATION]: "{}" }), true],
    [
      "the sidecar as an init container",
      (p) => (p.spec!.initContainers = [{ name: SIDECAR_CONTAINER }]),
      true,
    ],
    [
      "the sidecar as a regular container (added by hand)",
      (p) => p.spec!.containers.push({ name: SIDECAR_CONTAINER }),
      true,
    ],
    ["another init container", (p) => (p.spec!.initContainers = [{ name: "migrate" }]), false],
  ];
  for (const [name, change, want] of cases) {
    const pod = consumerPod();
    change(pod);
    assert.equal(alreadyInjected(pod), want, name);
  }
});
