/**
 * What an unchanged ScaledObject reuses from poll to poll (pure logic, no I/O): its checks and parsed
 * triggers, parsed again only for a new version of the object or other auth inputs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ScaledObject } from "../../core/crd/index.js";
import { connectionKey } from "../../core/kafka/connection.js";
import { ScaledObjectChecks } from "./prepare.js";

function scaledObject(topic: string): ScaledObject {
  return {
    apiVersion: "lagscale.io/v1alpha1",
    kind: "ScaledObject",
    metadata: { name: "so", namespace: "ns", uid: "uid-so", generation: 1 },
    spec: {
      scaleTargetRef: { name: "consumer" },
      triggers: [{ type: "kafka", metadata: { bootstrapServers: "b:9092", consumerGroup: "g", topic } }],
    },
  } as ScaledObject;
}

function parsedRequest(
  checks: ScaledObjectChecks,
  so: ScaledObject,
  auth: { authParams?: Record<string, string> }[],
) {
  const c = checks.get(so);
  assert.ok(c.ok);
  const r = checks.triggers(so, c.resolved, auth);
  assert.ok(r.ok);
  const t = r.triggers[0];
  assert.equal(t?.kind, "kafka");
  assert.ok(t.request);
  return { result: r, request: t.request };
}

test("an unchanged object's triggers are parsed once: the same lag request, the same connection key", () => {
  const checks = new ScaledObjectChecks();
  const so = scaledObject("orders");
  const first = parsedRequest(checks, so, [{}]);
  const again = parsedRequest(checks, so, [{}]);
  assert.equal(again.result, first.result);
  assert.equal(again.request, first.request);
  assert.equal(connectionKey(again.request.cluster), connectionKey(first.request.cluster));
});

test("other auth inputs or a new version of the object are parsed again", () => {
  const checks = new ScaledObjectChecks();
  const so = scaledObject("orders");
  const plain = parsedRequest(checks, so, [{}]);
  const withSasl = parsedRequest(checks, so, [
    { authParams: { sasl: "scram_sha512", username: "u", password: "p" } },
  ]);
  assert.notEqual(withSasl.request, plain.request);
  assert.equal(withSasl.request.cluster.sasl?.mechanism, "scram-sha-512");
  assert.notEqual(connectionKey(withSasl.request.cluster), connectionKey(plain.request.cluster));

  const next = parsedRequest(checks, scaledObject("payments"), [{}]);
  assert.equal(next.request.topic, "payments");
  assert.equal(parsedRequest(checks, so, [{}]).request.topic, "orders");
});
