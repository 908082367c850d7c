/**
 * The chart's values against their one source (scripts/chart-values.ts): the generated values.schema.json
 * and values reference are up to date, values.yaml holds exactly the schema's defaults, and the Grafana
 * dashboard asks only for metrics the controller exports. Needs no cluster.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Value } from "@sinclair/typebox/value";
import YAML from "yaml";
import { ControllerMetrics } from "../../controller/metrics.js";
import { ChartValues } from "../../scripts/chart-values.js";
import { chartValuesFiles, schemaDefaults, valuesRows } from "../../scripts/chart-values-files.js";
import { repoRoot } from "../stack/paths.js";
import { CHART_DIR } from "../stack/helm/chart.js";

const valuesYaml = YAML.parse(readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8")) as unknown;

describe("chart values", () => {
  it("values.schema.json and the values reference in docs/chart.md are generated from scripts/chart-values.ts", async () => {
    for (const [relative, wanted] of await chartValuesFiles()) {
      const current = readFileSync(path.join(repoRoot, relative), "utf8");
      assert.equal(current, wanted, `${relative} is stale: run \`npx tsx scripts/gen-chart-values.ts\``);
    }
  });

  it("values.yaml is valid and holds exactly the schema's defaults", () => {
    const errors = [...Value.Errors(ChartValues, valuesYaml)].map((e) => `${e.path}: ${e.message}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(valuesYaml, schemaDefaults());
  });

  it("every values key has a description and a default", () => {
    const rows = valuesRows();
    assert.ok(rows.length > 40, `only ${rows.length} keys found`);
    for (const r of rows) {
      assert.ok(r.description.length > 3, `${r.key} has no description`);
      assert.notEqual(r.def, undefined, `${r.key} has no default`);
    }
  });

  it("the schema refuses what the controller would refuse", () => {
    const base = schemaDefaults() as Record<string, unknown>;
    const bad: [string, Record<string, unknown>][] = [
      ["replicaCount 0", { replicaCount: 0 }],
      ["a port above 65535", { ports: { ...(base.ports as object), metrics: 70000 } }],
      [
        "a duration without a unit",
        { leaderElection: { ...(base.leaderElection as object), leaseDuration: "15" } },
      ],
      ["a namespace that is not a DNS label", { watchNamespaces: ["Team_A"] }],
      ["an unknown key", { replicas: 3 }],
      ["an unknown log level", { logLevel: "verbose" }],
      ["an extra arg that is not a flag", { extraArgs: ["rm -rf"] }],
    ];
    for (const [what, change] of bad) {
      assert.equal(Value.Check(ChartValues, { ...base, ...change }), false, `${what} was accepted`);
    }
    assert.equal(Value.Check(ChartValues, base), true);
  });

  it("the Grafana dashboard queries only metrics the controller exports", async () => {
    const dashboard = JSON.parse(
      readFileSync(path.join(CHART_DIR, "dashboards", "lagscale.json"), "utf8"),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exported = new Set((await new ControllerMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set<string>();
    for (const p of dashboard.panels) {
      for (const t of p.targets) for (const m of t.expr.matchAll(/\blagscale_[a-z_]+/g)) used.add(m[0]);
    }
    assert.ok(used.size >= 10, `the dashboard uses ${used.size} metrics`);
    const unknown = [...used].filter((m) => !exported.has(m));
    assert.deepEqual(unknown, [], "metrics the controller does not export");
  });
});
