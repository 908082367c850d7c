import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { crdFiles, repoRoot } from "../../scripts/crd-files.js";
import { buildCrds, CRD_DEFINITIONS } from "./crds.js";
import type { JsonSchema } from "./openapi.js";

test("checked-in CRD YAML matches the schemas (else: run `npx tsx scripts/gen-crds.ts`)", async () => {
  const files = await crdFiles();
  assert.equal(files.size, 4);
  for (const [relative, content] of files) {
    let current = "";
    try {
      current = readFileSync(path.join(repoRoot, relative), "utf8");
    } catch {
      assert.fail(`${relative} is missing: run \`npx tsx scripts/gen-crds.ts\``);
    }
    assert.ok(current === content, `${relative} is stale: run \`npx tsx scripts/gen-crds.ts\``);
  }
});

/** Walks every schema node with its path. */
function walk(node: JsonSchema, at: string, visit: (n: JsonSchema, at: string) => void): void {
  visit(node, at);
  const props = node["properties"] as Record<string, JsonSchema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) walk(v, `${at}.${k}`, visit);
  if (node["items"]) walk(node["items"] as JsonSchema, `${at}[]`, visit);
  if (typeof node["additionalProperties"] === "object")
    walk(node["additionalProperties"] as JsonSchema, `${at}{}`, visit);
}

function openAPI(crd: JsonSchema): JsonSchema {
  const spec = crd["spec"] as { versions: { schema: { openAPIV3Schema: JsonSchema } }[] };
  return spec.versions[0]!.schema.openAPIV3Schema;
}

test("every CRD schema is structural: typed nodes, no $ref/$id/anyOf/oneOf, no properties with additionalProperties", () => {
  for (const crd of buildCrds()) {
    walk(openAPI(crd), "", (n, at) => {
      for (const banned of ["$ref", "$id", "anyOf", "oneOf", "allOf", "not", "patternProperties", "const"]) {
        assert.ok(!(banned in n), `${at}: ${banned} is not allowed`);
      }
      const typed = typeof n["type"] === "string" || n["x-kubernetes-int-or-string"] === true;
      assert.ok(typed, `${at}: a structural schema needs a type`);
      if (n["properties"])
        assert.ok(!("additionalProperties" in n), `${at}: properties and additionalProperties`);
      if (n["x-kubernetes-int-or-string"]) assert.ok(!("type" in n), `${at}: int-or-string has no type`);
      for (const b of ["exclusiveMinimum", "exclusiveMaximum"]) {
        if (b in n) assert.equal(typeof n[b], "boolean", `${at}: ${b} is a boolean in Kubernetes' OpenAPI`);
      }
    });
  }
});

test("every field under spec and status has a description, for kubectl explain", () => {
  for (const crd of buildCrds()) {
    const root = openAPI(crd);
    const props = root["properties"] as Record<string, JsonSchema>;
    for (const part of ["spec", "status"]) {
      walk(props[part]!, part, (n, at) => {
        if (at.endsWith("[]") || at.endsWith("{}")) return;
        assert.ok(
          typeof n["description"] === "string" && n["description"] !== "",
          `${at} has no description`,
        );
      });
    }
  }
});

test("names, scopes, short names, status subresource", () => {
  const byKind = new Map(buildCrds().map((c) => [(c["spec"] as { names: { kind: string } }).names.kind, c]));
  const expect: [string, string, string, string[]][] = [
    ["ScaledObject", "scaledobjects.lagscale.io", "Namespaced", ["so"]],
    ["ScaledJob", "scaledjobs.lagscale.io", "Namespaced", ["sj"]],
    ["TriggerAuthentication", "triggerauthentications.lagscale.io", "Namespaced", ["ta", "triggerauth"]],
    [
      "ClusterTriggerAuthentication",
      "clustertriggerauthentications.lagscale.io",
      "Cluster",
      ["cta", "clustertriggerauth"],
    ],
  ];
  for (const [kind, name, scope, shortNames] of expect) {
    const crd = byKind.get(kind) as { metadata: { name: string }; spec: Record<string, unknown> };
    assert.ok(crd, kind);
    assert.equal(crd.metadata.name, name);
    assert.equal(crd.spec["group"], "lagscale.io");
    assert.equal(crd.spec["scope"], scope);
    const spec = crd.spec as {
      names: { shortNames: string[] };
      versions: { name: string; subresources: unknown }[];
    };
    assert.deepEqual(spec.names.shortNames, shortNames);
    assert.equal(spec.versions[0]!.name, "v1alpha1");
    assert.deepEqual(spec.versions[0]!.subresources, { status: {} });
  }
});

test("printer columns: KEDA's, in KEDA's order, plus Lag and Replicas on ScaledObjects", () => {
  const columns = (kind: string) =>
    CRD_DEFINITIONS.find((d) => d.kind === kind)!.printerColumns.map((c) => c.name);
  assert.deepEqual(columns("ScaledObject"), [
    "ScaleTargetKind", "ScaleTargetName", "Min", "Max", "Ready", "Active", "Fallback", "Paused",
    "Triggers", "Authentications", "Lag", "Replicas", "Age",
  ]); // prettier-ignore
  assert.deepEqual(columns("ScaledJob"), [
    "Min",
    "Max",
    "Ready",
    "Active",
    "Paused",
    "Triggers",
    "Authentications",
    "Age",
  ]);
  const so = CRD_DEFINITIONS.find((d) => d.kind === "ScaledObject")!;
  assert.equal(
    so.printerColumns.find((c) => c.name === "Ready")!.jsonPath,
    '.status.conditions[?(@.type=="Ready")].status',
  );
  // Every column's path exists in the schema.
  for (const crd of buildCrds()) {
    const root = openAPI(crd);
    const spec = crd["spec"] as { versions: { additionalPrinterColumns: { jsonPath: string }[] }[] };
    for (const col of spec.versions[0]!.additionalPrinterColumns) {
      if (col.jsonPath.startsWith(".metadata")) continue;
      let node: JsonSchema | undefined = root;
      for (const seg of col.jsonPath
        .replace(/\[.*?\]/g, "")
        .split(".")
        .slice(1)) {
        node =
          (node?.["properties"] as Record<string, JsonSchema> | undefined)?.[seg] ??
          (
            (node?.["items"] as JsonSchema | undefined)?.["properties"] as
              Record<string, JsonSchema> | undefined
          )?.[seg];
      }
      assert.ok(node, `${col.jsonPath} is not in the schema`);
    }
  }
});

test("KEDA's CEL rule on ScaledObject spec; server-side defaults only where KEDA has them", () => {
  const [so, sj] = buildCrds().map(openAPI);
  const soSpec = (so!["properties"] as Record<string, JsonSchema>)["spec"]!;
  assert.deepEqual(soSpec["x-kubernetes-validations"], [
    {
      rule: "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)",
      message: "minReplicaCount must be less than or equal to maxReplicaCount",
    },
  ]);
  const defaults: string[] = [];
  for (const [kind, root] of [
    ["so", so],
    ["sj", sj],
  ] as const) {
    walk(root!, kind, (n, at) => {
      if ("default" in n) defaults.push(`${at}=${JSON.stringify(n["default"])}`);
    });
  }
  assert.deepEqual(defaults, ['so.spec.fallback.behavior="static"']);
  const props = soSpec["properties"] as Record<string, JsonSchema>;
  assert.match(String(props["pollingInterval"]!["description"]), /Default: 30\.$/);
  assert.match(String(props["cooldownPeriod"]!["description"]), /Default: 300\.$/);
});

test("YAML on disk parses back to the generated objects", () => {
  const crds = buildCrds();
  for (const def of CRD_DEFINITIONS) {
    const file = path.join(repoRoot, "charts/lagscale/crds", `${def.plural}.lagscale.io.yaml`);
    const onDisk: unknown = parse(readFileSync(file, "utf8"));
    const built = crds.find((c) => (c["metadata"] as { name: string }).name === `${def.plural}.lagscale.io`);
    assert.deepEqual(onDisk, built);
  }
});

test("jobTargetRef keeps the pod template and unknown JobSpec fields", () => {
  const sj = openAPI(buildCrds()[1]!);
  const spec = (sj["properties"] as Record<string, JsonSchema>)["spec"]!;
  const job = (spec["properties"] as Record<string, JsonSchema>)["jobTargetRef"]!;
  assert.equal(job["x-kubernetes-preserve-unknown-fields"], true);
  assert.deepEqual(job["required"], ["template"]);
  const template = (job["properties"] as Record<string, JsonSchema>)["template"]!;
  assert.equal(template["type"], "object");
  assert.equal(template["x-kubernetes-preserve-unknown-fields"], true);
});
