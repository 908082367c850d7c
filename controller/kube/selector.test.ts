import assert from "node:assert/strict";
import { test } from "node:test";
import { matchesSelector, parseLabelSelector } from "./selector.js";
import { formatLabelSelector } from "./targets.js";

test("parseLabelSelector and matchesSelector: each operator, as Kubernetes' labels.Parse and Matches", () => {
  const cases: [selector: string, labels: Record<string, string>, matches: boolean][] = [
    ["", { any: "thing" }, true],
    ["app=web", { app: "web", x: "1" }, true],
    ["app=web", { app: "api" }, false],
    ["app==web", { app: "web" }, true],
    ["app!=web", { app: "api" }, true],
    ["app!=web", {}, true], // != matches a missing key
    ["app!=web", { app: "web" }, false],
    ["tier in (api,web)", { tier: "web" }, true],
    ["tier in (api, web)", { tier: "db" }, false],
    ["tier in (api,web)", {}, false],
    ["env notin (dev)", { env: "prod" }, true],
    ["env notin (dev)", {}, true],
    ["env notin (dev)", { env: "dev" }, false],
    ["canary", { canary: "" }, true],
    ["canary", {}, false],
    ["!legacy", {}, true],
    ["!legacy", { legacy: "y" }, false],
    ["app=c,tier in (api,web),!legacy", { app: "c", tier: "api" }, true],
    ["app=c,tier in (api,web),!legacy", { app: "c", tier: "api", legacy: "1" }, false],
    ["app=", { app: "" }, true],
  ];
  for (const [selector, labels, want] of cases) {
    const p = parseLabelSelector(selector);
    assert.ok(p.ok, `${selector}: ${p.ok ? "" : p.error}`);
    assert.equal(matchesSelector(p.requirements, labels), want, `${selector} on ${JSON.stringify(labels)}`);
  }
});

test("parseLabelSelector reads what formatLabelSelector writes (the cached targets' selectors)", () => {
  const s = formatLabelSelector({
    matchLabels: { app: "c" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["web", "api"] },
      { key: "env", operator: "NotIn", values: ["dev"] },
      { key: "canary", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  });
  const p = parseLabelSelector(s ?? "");
  assert.ok(p.ok);
  assert.equal(p.requirements.length, 5);
  assert.ok(matchesSelector(p.requirements, { app: "c", tier: "api", canary: "1", env: "prod" }));
  assert.ok(!matchesSelector(p.requirements, { app: "c", tier: "api", env: "prod" }), "canary missing");
});

test("parseLabelSelector refuses what is not a selector, naming the requirement", () => {
  for (const bad of ["app=web,", "tier in api", "a b", "(x)"]) {
    const p = parseLabelSelector(bad);
    assert.ok(!p.ok, bad);
    assert.match(p.error, /label selector requirement/);
  }
});
