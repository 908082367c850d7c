import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  GENERATION_ANNOTATION,
  jobForScaledJob,
  jobsOfPreviousGenerations,
  rolloutStrategy,
  SCALEDJOB_NAME_LABEL,
  type BatchJob,
  type ScaledJobSource,
} from "./job-object.js";

const sj: ScaledJobSource = {
  apiVersion: "lagscale.io/v1alpha1",
  metadata: {
    name: "worker",
    namespace: "ns",
    uid: "u-1",
    generation: 3,
    labels: { team: "a", secret: "x" },
    annotations: { "scaledjob.keda.sh/job-excluded-labels": "secret", note: "n" },
  },
  spec: {
    jobTargetRef: {
      backoffLimit: 2,
      template: { spec: { containers: [{ name: "main", image: "i", env: [{ name: "A", value: "1" }] }] } },
    },
  },
};

describe("jobForScaledJob (KEDA's generateJobs)", () => {
  const job = jobForScaledJob(sj);
  it("generateName, labels, generation annotation and owner as KEDA sets them", () => {
    assert.equal(job.metadata.generateName, "worker-");
    assert.equal(job.metadata.name, undefined);
    assert.deepEqual(job.metadata.labels, {
      "app.kubernetes.io/name": "worker",
      "app.kubernetes.io/part-of": "worker",
      "app.kubernetes.io/managed-by": "lagscale",
      [SCALEDJOB_NAME_LABEL]: "worker",
      team: "a",
    });
    assert.equal(job.metadata.annotations?.[GENERATION_ANNOTATION], "3");
    assert.equal(job.metadata.annotations?.note, "n");
    assert.deepEqual(job.metadata.ownerReferences, [
      {
        apiVersion: "lagscale.io/v1alpha1",
        kind: "ScaledJob",
        name: "worker",
        uid: "u-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });
  it("the pod template gets the ScaledJob label and restartPolicy OnFailure; the source is not changed", () => {
    const t = job.spec?.template as {
      metadata: { labels: Record<string, string> };
      spec: { restartPolicy: string };
    };
    assert.deepEqual(t.metadata.labels, { [SCALEDJOB_NAME_LABEL]: "worker" });
    assert.equal(t.spec.restartPolicy, "OnFailure");
    assert.equal(job.spec?.backoffLimit, 2);
    assert.equal((sj.spec.jobTargetRef.template as { metadata?: unknown }).metadata, undefined);
  });
  it("a restartPolicy given is kept; extra env replaces a variable of the same name", () => {
    const given = structuredClone(sj);
    (given.spec.jobTargetRef.template as { spec: { restartPolicy?: string } }).spec.restartPolicy = "Never";
    const j = jobForScaledJob(given, {
      name: "worker-0-5",
      env: [
        { name: "A", value: "2" },
        { name: "B", value: "3" },
      ],
    });
    const spec = (j.spec?.template as { spec: { restartPolicy: string; containers: { env: unknown[] }[] } })
      .spec;
    assert.equal(spec.restartPolicy, "Never");
    assert.deepEqual(spec.containers[0]?.env, [
      { name: "A", value: "2" },
      { name: "B", value: "3" },
    ]);
    assert.equal(j.metadata.name, "worker-0-5");
    assert.equal(j.metadata.generateName, undefined);
  });
});

describe("rollout", () => {
  it("the deprecated rolloutStrategy wins; default is immediate", () => {
    const cases: [Parameters<typeof rolloutStrategy>[0], string][] = [
      [{}, "immediate"],
      [{ rollout: { strategy: "default" } }, "immediate"],
      [{ rollout: { strategy: "gradual" } }, "gradual"],
      [{ rolloutStrategy: "immediate", rollout: { strategy: "gradual" } }, "immediate"],
      [{ rolloutStrategy: "gradual" }, "gradual"],
    ];
    for (const [spec, want] of cases) assert.equal(rolloutStrategy(spec), want, JSON.stringify(spec));
  });
  it("Jobs of other or missing generations are deleted, not those deleting already", () => {
    const j = (name: string, gen?: string, deleting = false): BatchJob => ({
      metadata: {
        name,
        ...(gen ? { annotations: { [GENERATION_ANNOTATION]: gen } } : {}),
        ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
      },
    });
    assert.deepEqual(jobsOfPreviousGenerations([j("a", "2"), j("b", "3"), j("c"), j("d", "1", true)], 3), [
      "a",
      "c",
    ]);
  });
});
