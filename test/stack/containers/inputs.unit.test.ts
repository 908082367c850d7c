import assert from "node:assert/strict";
import { test } from "node:test";
import { contextSources, hashedTag, ignoreMatcher, inputsHash, normalizeSource } from "./inputs.js";

test("contextSources: COPY and ADD from the context, not from other stages", () => {
  const dockerfile = [
    "ARG BASE=node:20-alpine",
    "FROM ${BASE} AS build",
    "# COPY commented/ out/",
    "COPY package.json package-lock.json ./",
    "COPY --chown=1000:1000 core/ core/",
    "ADD tsconfig.json \\",
    "    ./",
    'COPY ["demo apps/x", "/dest"]',
    "FROM ${BASE}",
    "COPY --from=build /src/dist/ ./",
    "copy lower/ lower/",
  ].join("\n");
  assert.deepEqual(contextSources(dockerfile), [
    "package.json",
    "package-lock.json",
    "core/",
    "tsconfig.json",
    "demo apps/x",
    "lower/",
  ]);
});

test("normalizeSource", () => {
  for (const [raw, want] of [
    ["core/", "core"],
    ["./core", "core"],
    [".", ""],
    ["a/b//", "a/b"],
  ] as const) {
    assert.equal(normalizeSource(raw), want, raw);
  }
});

test("ignoreMatcher: dockerignore patterns on context paths", () => {
  const ignored = ignoreMatcher(
    ["# comment", "**/node_modules", "**/*.test.ts", "docs", "core/*.tmp", "!core/keep.tmp", "a?c"].join(
      "\n",
    ),
  );
  const table: [string, boolean][] = [
    ["node_modules/x/index.js", true],
    ["core/node_modules/y.js", true],
    ["core/scaling/decide.test.ts", true],
    ["core/scaling/decide.ts", false],
    ["docs/local-stack.md", true],
    ["core/docs/x.md", false],
    ["core/a.tmp", true],
    ["core/keep.tmp", false],
    ["core/sub/a.tmp", false],
    ["abc", true],
    ["abbc", false],
    ["controller/main.ts", false],
  ];
  for (const [p, want] of table) assert.equal(ignored(p), want, p);
});

test("inputsHash: order-independent, changes with any content or name", () => {
  const a = { name: "core/a.ts", content: "export const a = 1;\n" };
  const b = { name: "dockerfile", content: "FROM x\n" };
  const h = inputsHash([a, b]);
  assert.match(h, /^[0-9a-f]{12}$/);
  assert.equal(inputsHash([b, a]), h);
  assert.notEqual(inputsHash([{ ...a, content: "export const a = 2;\n" }, b]), h);
  assert.notEqual(inputsHash([{ ...a, name: "core/b.ts" }, b]), h);
  assert.notEqual(inputsHash([a]), h);
  // a name/content boundary cannot be shifted to collide
  assert.notEqual(inputsHash([{ name: "ab", content: "c" }]), inputsHash([{ name: "a", content: "bc" }]));
});

test("hashedTag replaces the tag, keeps registry ports", () => {
  assert.equal(hashedTag("lagscale/controller:dev", "abc"), "lagscale/controller:abc");
  assert.equal(hashedTag("lagscale/sidecar", "abc"), "lagscale/sidecar:abc");
  assert.equal(hashedTag("localhost:5000/x/y:dev", "abc"), "localhost:5000/x/y:abc");
});
