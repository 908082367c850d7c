import assert from "node:assert/strict";
import { test } from "node:test";
import { readOptIn, type OptIn } from "./optin.js";

const LABEL = { "lagscale.io/inject": "enabled" };

test("opt-in: the label, the annotation, and what each value means", () => {
  const cases: [
    string,
    Record<string, string> | undefined,
    Record<string, string> | undefined,
    OptIn["kind"],
  ][] = [
    ["no label, no annotation", undefined, undefined, "not-requested"],
    ["label enabled", LABEL, undefined, "enabled"],
    ["label enabled, annotation enabled", LABEL, { "lagscale.io/inject": "enabled" }, "enabled"],
    ["annotation enabled without the label", undefined, { "lagscale.io/inject": "enabled" }, "enabled"],
    [
      "label enabled, annotation disabled: opted out",
      LABEL,
      { "lagscale.io/inject": "disabled" },
      "disabled",
    ],
    ["label with another value", { "lagscale.io/inject": "true" }, undefined, "not-requested"],
    ["annotation true (not a value lagscale reads)", LABEL, { "lagscale.io/inject": "true" }, "invalid"],
    ["annotation Enabled (values are case-sensitive)", LABEL, { "lagscale.io/inject": "Enabled" }, "invalid"],
    ["annotation empty", LABEL, { "lagscale.io/inject": "" }, "invalid"],
    ["another project's annotation", LABEL, { "sidecar.istio.io/inject": "false" }, "enabled"],
  ];
  for (const [name, labels, annotations, kind] of cases) {
    assert.equal(readOptIn(labels, annotations).kind, kind, name);
  }
});

test("an invalid opt-in names the annotation and the values allowed", () => {
  const r = readOptIn(LABEL, { "lagscale.io/inject": "yes" });
  assert.deepEqual(r, {
    kind: "invalid",
    problems: ['annotation lagscale.io/inject="yes": must be enabled or disabled'],
  });
});

test("tuning annotations: valid values are read, each bad one is named with what is allowed", () => {
  const cases: [string, Record<string, string>, OptIn][] = [
    ["none", {}, { kind: "enabled", tuning: {} }],
    [
      "ScaledObject, trigger and image",
      {
        "lagscale.io/scaled-object": "orders",
        "lagscale.io/trigger": "orders-lag",
        "lagscale.io/sidecar-image": "registry.example.com:5000/lagscale/sidecar@sha256:abc",
      },
      {
        kind: "enabled",
        tuning: {
          scaledObject: "orders",
          trigger: "orders-lag",
          image: "registry.example.com:5000/lagscale/sidecar@sha256:abc",
        },
      },
    ],
    [
      "resources",
      { "lagscale.io/sidecar-cpu-request": "20m", "lagscale.io/sidecar-memory-limit": "128Mi" },
      { kind: "enabled", tuning: { resources: { requests: { cpu: "20m" }, limits: { memory: "128Mi" } } } },
    ],
    [
      "a ScaledObject name with capitals",
      { "lagscale.io/scaled-object": "Orders" },
      {
        kind: "invalid",
        problems: [
          'annotation lagscale.io/scaled-object="Orders": must be a ScaledObject name (lower-case DNS subdomain, at most 253 characters)',
        ],
      },
    ],
    [
      "an image with a space",
      { "lagscale.io/sidecar-image": "lagscale/sidecar :1" },
      {
        kind: "invalid",
        problems: [
          'annotation lagscale.io/sidecar-image="lagscale/sidecar :1": must be an image reference such as registry.example.com/lagscale/sidecar:0.1.0',
        ],
      },
    ],
    [
      "a cpu request that is not a quantity",
      { "lagscale.io/sidecar-cpu-request": "lots" },
      {
        kind: "invalid",
        problems: [
          'annotation lagscale.io/sidecar-cpu-request="lots": must be a positive quantity such as "10m" or "0.1" ("lots" is not a quantity (a decimal number with an optional suffix, such as "0.05", "50m" or "5e-2"))',
        ],
      },
    ],
    [
      "a memory limit of 0",
      { "lagscale.io/sidecar-memory-limit": "0" },
      {
        kind: "invalid",
        problems: [
          'annotation lagscale.io/sidecar-memory-limit="0": must be a positive quantity such as "64Mi" or "128M"',
        ],
      },
    ],
    [
      "a request above its limit",
      { "lagscale.io/sidecar-memory-request": "256Mi", "lagscale.io/sidecar-memory-limit": "128Mi" },
      {
        kind: "invalid",
        problems: [
          "annotations lagscale.io/sidecar-memory-request (256Mi) is above lagscale.io/sidecar-memory-limit (128Mi): a request may not exceed its limit",
        ],
      },
    ],
    [
      "a misspelt sidecar annotation",
      { "lagscale.io/sidecar-cpu": "10m" },
      {
        kind: "invalid",
        problems: [
          'annotation "lagscale.io/sidecar-cpu" is not one lagscale reads; the sidecar\'s are lagscale.io/sidecar-image, lagscale.io/sidecar-cpu-request, lagscale.io/sidecar-memory-request, lagscale.io/sidecar-cpu-limit, lagscale.io/sidecar-memory-limit',
        ],
      },
    ],
  ];
  for (const [name, annotations, want] of cases) {
    assert.deepEqual(readOptIn(LABEL, annotations), want, name);
  }
});

test("every problem is reported at once", () => {
  const r = readOptIn(LABEL, {
    "lagscale.io/scaled-object": "-bad",
    "lagscale.io/sidecar-cpu-limit": "x",
    "lagscale.io/sidecar-image": "",
  });
  assert.equal(r.kind, "invalid");
  assert.equal(r.kind === "invalid" ? r.problems.length : 0, 3);
});

test("a huge annotation value is cut in the message", () => {
  const r = readOptIn(LABEL, { "lagscale.io/scaled-object": "x".repeat(100_000) });
  assert.equal(r.kind, "invalid");
  assert.ok(r.kind === "invalid" && r.problems[0]!.length < 300, "the message stays short");
});
