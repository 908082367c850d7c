import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { repoRoot } from "../paths.js";
import { APP_IMAGES, dockerfileInputs } from "./images.js";

test("dockerfileInputs: what each Dockerfile copies from the repository, minus its ignore file", async () => {
  const names = async (dockerfile: string) => {
    const full = path.join(repoRoot, dockerfile);
    return new Set((await dockerfileInputs(full, `${full}.dockerignore`)).map((i) => i.name));
  };
  const controller = await names("controller/Dockerfile");
  for (const f of [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "controller/main.ts",
    "core/log.ts",
    "ignorefile",
  ])
    assert.ok(controller.has(f), `controller image input ${f}`);
  for (const f of ["controller/config.test.ts", "sidecar/main.ts", "README.md"])
    assert.ok(!controller.has(f), `not a controller image input: ${f}`);
  assert.ok(![...controller].some((f) => f.includes("node_modules/")), "no node_modules");

  const consumer = await names("demo-apps/consumer/Dockerfile");
  assert.ok(consumer.has("demo-apps/consumer/src/main.ts"));
  assert.ok(!consumer.has("controller/main.ts"));
});

test("dockerfileInputs: a source the Dockerfile copies but the repository lacks is an error naming it", async () => {
  const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const dir = await mkdtemp(path.join(tmpdir(), "lagscale-inputs-"));
  try {
    const dockerfile = path.join(dir, "Dockerfile");
    await writeFile(dockerfile, "FROM x\nCOPY no-such-dir/ /app/\n");
    await assert.rejects(
      dockerfileInputs(dockerfile, undefined),
      /copies no-such-dir\/, which does not exist/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("APP_IMAGES: every Dockerfile of the repository that builds an app, once", () => {
  assert.deepEqual(
    APP_IMAGES.map((i) => i.name),
    [
      "lagscale/controller:dev",
      "lagscale/sidecar:dev",
      "lagscale/demo-producer:dev",
      "lagscale/demo-consumer:dev",
      "lagscale/demo-job-worker:dev",
    ],
  );
});
