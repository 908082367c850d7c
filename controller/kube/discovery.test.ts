import { test } from "node:test";
import assert from "node:assert/strict";
import { findKind, parseApiVersion } from "./discovery.js";

test("apiVersion splits into group and version; v1 is the core group", () => {
  assert.deepEqual(parseApiVersion("apps/v1"), { group: "apps", version: "v1" });
  assert.deepEqual(parseApiVersion("v1"), { group: "", version: "v1" });
  assert.throws(() => parseApiVersion("a/b/c"), /not <version> or <group>\/<version>/);
  assert.throws(() => parseApiVersion(""), /not <version>/);
});

test("a kind is scalable when its resource has a scale subresource in discovery", () => {
  const list = {
    resources: [
      { name: "deployments", kind: "Deployment", namespaced: true },
      { name: "deployments/scale", kind: "Scale", namespaced: true },
      { name: "deployments/status", kind: "Deployment", namespaced: true },
      { name: "controllerrevisions", kind: "ControllerRevision", namespaced: true },
    ],
  };
  assert.deepEqual(findKind(list, "apps", "v1", "Deployment"), {
    group: "apps",
    version: "v1",
    kind: "Deployment",
    resource: "deployments",
    namespaced: true,
    scalable: true,
  });
  assert.equal(findKind(list, "apps", "v1", "ControllerRevision")?.scalable, false);
  assert.equal(findKind(list, "apps", "v1", "Scale"), undefined, "a subresource's kind is not a resource");
  assert.equal(findKind(list, "apps", "v1", "Nope"), undefined);
});
