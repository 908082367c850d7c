import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import {
  BUILTIN_IMAGES,
  containerCommand,
  findImage,
  imageLookupNames,
  loadImageMap,
  parseImageMap,
  type Placeholders,
} from "./images.js";

const P: Placeholders = {
  node: "/usr/bin/node",
  tsx: "file:///repo/node_modules/tsx/dist/loader.mjs",
  repoRoot: "/repo",
};
const node = BUILTIN_IMAGES["lagscale.local/node"]!;
const host = BUILTIN_IMAGES["lagscale.local/host"]!;

test("lookup names drop digest, then tag, and keep a registry port", () => {
  assert.deepEqual(imageLookupNames("lagscale.local/node"), ["lagscale.local/node"]);
  assert.deepEqual(imageLookupNames("lagscale.local/node:1"), [
    "lagscale.local/node:1",
    "lagscale.local/node",
  ]);
  assert.deepEqual(imageLookupNames("host:5000/app:1.2@sha256:ab"), [
    "host:5000/app:1.2@sha256:ab",
    "host:5000/app:1.2",
    "host:5000/app",
  ]);
  assert.deepEqual(imageLookupNames("host:5000/app"), ["host:5000/app"]);
});

test("findImage prefers the exact tag over the bare name", () => {
  const map = { ...BUILTIN_IMAGES, "lagscale.local/node:old": { entrypoint: ["old"] } };
  assert.deepEqual(findImage(map, "lagscale.local/node:old")?.entrypoint, ["old"]);
  assert.equal(findImage(map, "lagscale.local/node:latest"), node);
  assert.equal(findImage(map, "busybox"), undefined);
});

test("command/args follow Kubernetes' ENTRYPOINT/CMD rules", () => {
  const table: { c: { command?: string[]; args?: string[] }; entry: typeof node; want: string[] }[] = [
    { c: { args: ["x.ts", "1"] }, entry: node, want: [P.node, "--import", P.tsx, "x.ts", "1"] },
    { c: {}, entry: { entrypoint: ["srv"], cmd: ["--port", "80"] }, want: ["srv", "--port", "80"] },
    { c: { args: ["-v"] }, entry: { entrypoint: ["srv"], cmd: ["--port", "80"] }, want: ["srv", "-v"] },
    { c: { command: ["sh", "-c"], args: ["exit 3"] }, entry: node, want: ["sh", "-c", "exit 3"] },
    { c: { command: ["true"] }, entry: { entrypoint: ["srv"], cmd: ["ignored"] }, want: ["true"] },
  ];
  for (const { c, entry, want } of table) assert.deepEqual(containerCommand("img", entry, c, P).argv, want);
});

test("working dir and env come from the entry, with placeholders, and the container's workingDir wins", () => {
  const entry = { entrypoint: ["x"], workingDir: "${repoRoot}/demo", env: { NODE: "${node}" } };
  const cmd = containerCommand("img", entry, {}, P);
  assert.equal(cmd.workingDir, "/repo/demo");
  assert.deepEqual(cmd.imageEnv, { NODE: "/usr/bin/node" });
  assert.equal(containerCommand("img", node, { args: ["a"], workingDir: "/tmp" }, P).workingDir, "/tmp");
  assert.equal(containerCommand("img", node, { args: ["a"] }, P).workingDir, "/repo");
});

test("an image without entrypoint needs a command", () => {
  assert.throws(
    () => containerCommand("lagscale.local/host", host, {}, P),
    /has no entrypoint .* give it a command/,
  );
  assert.deepEqual(containerCommand("lagscale.local/host", host, { command: ["sleep", "1"] }, P).argv, [
    "sleep",
    "1",
  ]);
});

test("parseImageMap explains what is wrong", () => {
  assert.throws(() => parseImageMap([], "f.json"), /f.json: expected a JSON object/);
  assert.throws(() => parseImageMap({ a: "x" }, "f"), /image "a": expected an object/);
  assert.throws(() => parseImageMap({ a: {} }, "f"), /"entrypoint" must be an array/);
  assert.throws(() => parseImageMap({ a: { entrypoint: [], cmd: "x" } }, "f"), /"cmd" must be an array/);
  assert.throws(() => parseImageMap({ a: { entrypoint: [], env: { X: 1 } } }, "f"), /env X must be a string/);
  assert.throws(
    () => parseImageMap({ a: { entrypoint: [], entryPoint: [] } }, "f"),
    /unknown field "entryPoint"/,
  );
  assert.throws(() => parseImageMap({ "a b": { entrypoint: [] } }, "f"), /without spaces/);
  assert.deepEqual(parseImageMap({ a: { entrypoint: ["x"], env: { K: "v" } } }, "f"), {
    a: { entrypoint: ["x"], env: { K: "v" } },
  });
});

test("loadImageMap adds files from options and env, later ones winning", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "images-"));
  const a = path.join(dir, "a.json");
  const b = path.join(dir, "b.json");
  writeFileSync(
    a,
    JSON.stringify({ "demo/app": { entrypoint: ["a"] }, "demo/other": { entrypoint: ["o"] } }),
  );
  writeFileSync(b, JSON.stringify({ "demo/app": { entrypoint: ["b"] } }));
  const map = loadImageMap([a], { LAGSCALE_POD_RUNNER_IMAGES: b });
  assert.deepEqual(map["demo/app"]?.entrypoint, ["b"]);
  assert.deepEqual(map["demo/other"]?.entrypoint, ["o"]);
  assert.ok(map["lagscale.local/node"]);
  assert.throws(() => loadImageMap([path.join(dir, "missing.json")], {}), /cannot read image map/);
  writeFileSync(a, "{nope");
  assert.throws(() => loadImageMap([a], {}), /is not valid JSON/);
});
