import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1PodSpec } from "@kubernetes/client-node";
import { REPORTS_AUDIENCE } from "../reports/auth.js";
import { SIDECAR_CONTAINER, SIDECAR_TOKEN_VOLUME, withSidecar, type SidecarSettings } from "./sidecar.js";

const settings: SidecarSettings = {
  image: "lagscale/sidecar:dev",
  scaledObject: "kafka-scaledobject",
  bootstrapServers: "127.0.0.1:9092",
  consumerGroup: "g1",
  topic: "my-topic",
  lagThreshold: 10,
  reportUrl: "http://127.0.0.1:9444/v1/reports",
};

const consumer: V1PodSpec = {
  containers: [{ name: "kafka-consumer", image: "lagscale/demo-consumer:dev" }],
  volumes: [{ name: "data", emptyDir: {} }],
};

test("the sidecar goes in as a native sidecar with the receiver's token audience", () => {
  const spec = withSidecar(consumer, settings);
  assert.deepEqual(spec.containers, consumer.containers, "the consumer container is untouched");
  const c = spec.initContainers?.find((i) => i.name === SIDECAR_CONTAINER);
  assert.ok(c);
  assert.equal(c.restartPolicy, "Always");
  const env = new Map(c.env?.map((e) => [e.name, e]));
  assert.equal(env.get("POD_IP")?.valueFrom?.fieldRef?.fieldPath, "status.podIP");
  assert.equal(env.get("LAGSCALE_CONSUMER_GROUP")?.value, "g1");
  assert.equal(env.get("LAGSCALE_LAG_THRESHOLD")?.value, "10");
  assert.equal(env.get("LAGSCALE_OFFSET_RESET_POLICY")?.value, "latest");
  const vol = spec.volumes?.find((v) => v.name === SIDECAR_TOKEN_VOLUME);
  assert.equal(vol?.projected?.sources?.[0]?.serviceAccountToken?.audience, REPORTS_AUDIENCE);
  assert.ok(
    spec.volumes?.some((v) => v.name === "data"),
    "the pod's own volumes stay",
  );
  assert.equal(consumer.initContainers, undefined, "the input is not changed");
});

test("adding the sidecar twice changes nothing", () => {
  const once = withSidecar(consumer, settings);
  assert.deepEqual(withSidecar(once, settings), once);
});

test("extra env follows the generated variables, so it may refer to them", () => {
  const spec = withSidecar(consumer, {
    ...settings,
    bindAddress: "$(POD_IP)",
    env: [{ name: "LAGSCALE_FAST_INTERVAL_MS", value: "500" }],
  });
  const names = spec.initContainers?.[0]?.env?.map((e) => e.name) ?? [];
  assert.ok(names.indexOf("POD_IP") < names.indexOf("LAGSCALE_BIND_ADDRESS"));
  assert.equal(names.at(-1), "LAGSCALE_FAST_INTERVAL_MS");
});

test("extra env replaces a generated variable of the same name instead of doubling it", () => {
  const spec = withSidecar(consumer, {
    ...settings,
    env: [{ name: "LAGSCALE_TOKEN_FILE", value: "/elsewhere/token" }],
  });
  const env = spec.initContainers?.[0]?.env ?? [];
  const tokens = env.filter((e) => e.name === "LAGSCALE_TOKEN_FILE");
  assert.deepEqual(tokens, [{ name: "LAGSCALE_TOKEN_FILE", value: "/elsewhere/token" }]);
});
