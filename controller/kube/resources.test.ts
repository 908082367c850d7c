import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CLUSTER_TRIGGER_AUTHENTICATIONS,
  PODS,
  SCALED_OBJECTS,
  objectKey,
  parseKey,
  resourcePath,
  watchNamespacesFromEnv,
} from "./resources.js";

test("resource paths for core, grouped, namespaced and cluster-scoped types", () => {
  assert.equal(resourcePath(PODS, "ns", "p", "status"), "/api/v1/namespaces/ns/pods/p/status");
  assert.equal(resourcePath(PODS), "/api/v1/pods");
  assert.equal(resourcePath(SCALED_OBJECTS, "a"), "/apis/lagscale.io/v1alpha1/namespaces/a/scaledobjects");
  assert.equal(
    resourcePath(CLUSTER_TRIGGER_AUTHENTICATIONS, "ignored", "x"),
    "/apis/lagscale.io/v1alpha1/clustertriggerauthentications/x",
  );
  assert.throws(() => resourcePath(PODS, undefined, "p"), /needs a namespace/);
});

test("keys are namespace/name, or name for cluster-scoped objects", () => {
  assert.equal(objectKey({ metadata: { namespace: "a", name: "b" } }), "a/b");
  assert.equal(objectKey({ metadata: { name: "c" } }), "c");
  assert.deepEqual(parseKey("a/b"), { namespace: "a", name: "b" });
  assert.deepEqual(parseKey("c"), { name: "c" });
});

test("WATCH_NAMESPACE is a comma list; unset or blank means all namespaces", () => {
  assert.equal(watchNamespacesFromEnv({}), undefined);
  assert.equal(watchNamespacesFromEnv({ WATCH_NAMESPACE: " , " }), undefined);
  assert.deepEqual(watchNamespacesFromEnv({ WATCH_NAMESPACE: "a, b,a" }), ["a", "b"]);
});
