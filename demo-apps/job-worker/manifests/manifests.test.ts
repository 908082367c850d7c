/**
 * The job worker's manifests hang together: the ScaledJob passes lagscale's own schema in per-message mode, its
 * topic and broker match the topic Job's, its container runs the worker image with settings the worker accepts,
 * and the pod runner's image map runs the same program the Dockerfile does.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { validateScaledJob } from "../../../core/crd/validate.js";
import { BUILTIN_IMAGES } from "../../../test/stack/pod-runner/images.js";
import { parseBrokers } from "../../shared/env.js";
import { parseWorkSeconds } from "../src/config.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const load = (f: string): unknown => parse(readFileSync(path.join(here, f), "utf8"));

interface Container {
  image: string;
  env?: { name: string; value?: string }[];
  command?: string[];
}

test("the example ScaledJob is valid, per-message, and runs the worker image", () => {
  const v = validateScaledJob(load("scaledjob.yaml"));
  assert.ok(v.ok, v.ok ? "" : JSON.stringify(v.errors));
  const spec = v.resolved.spec;
  assert.equal(spec.dispatch?.mode, "perMessage");
  const trigger = spec.triggers[0];
  assert.equal(spec.triggers.length, 1);
  assert.equal(trigger?.type, "kafka");
  const template = (spec.jobTargetRef as { template: { spec: { containers: Container[] } } }).template;
  const c = template.spec.containers[0];
  assert.equal(c?.image, "lagscale/demo-job-worker:dev");
  assert.equal(c?.command, undefined, "the image's own command runs");
  const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
  assert.deepEqual(parseBrokers(env.KAFKA_BROKER ?? ""), [trigger?.metadata.bootstrapServers]);
  assert.ok(parseWorkSeconds(env.WORK_SECONDS) > 0);

  const topicJob = load("topic-job.yaml") as { spec: { template: { spec: { containers: Container[] } } } };
  const tenv = Object.fromEntries(
    (topicJob.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
  );
  assert.equal(tenv.KAFKA_TOPIC, trigger?.metadata.topic, "the topic Job creates the trigger's topic");
  assert.equal(tenv.KAFKA_BROKER, trigger?.metadata.bootstrapServers);
});

test("the pod runner's worker image runs what the Dockerfile runs", () => {
  const entry = BUILTIN_IMAGES["lagscale/demo-job-worker:dev"];
  assert.ok(entry, "image lagscale/demo-job-worker:dev in the pod runner's map");
  const dockerfile = readFileSync(path.join(here, "..", "Dockerfile"), "utf8");
  const cmd = /^CMD \["node", "(.+)\.js"\]$/m.exec(dockerfile)?.[1];
  assert.equal(cmd, "demo-apps/job-worker/src/main");
  assert.equal(entry.entrypoint.at(-1), `${cmd}.ts`);
  const workSeconds = /WORK_SECONDS=(\S+)/.exec(dockerfile)?.[1];
  assert.equal(entry.env?.WORK_SECONDS, workSeconds);
});
