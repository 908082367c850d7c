import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  countRunningAndPendingJobs,
  isJobPending,
  jobFinishedAs,
  selectJobsForHistoryCleanup,
  type JobSnapshot,
  type PodSnapshot,
} from "./jobs.js";

const at = (iso: string) => Date.parse(iso);
const finished = (name: string, time: string, type: "Complete" | "Failed"): JobSnapshot => ({
  name,
  completionTime: at(time),
  conditions: [{ type, status: "True" }],
});

describe("selectJobsForHistoryCleanup (KEDA TestCleanUp*)", () => {
  it("limits 2/2, three completed → the oldest completed is deleted", () => {
    const jobs = [
      finished("name1", "2020-07-29T15:37:00Z", "Complete"),
      finished("name2", "2020-07-29T15:36:00Z", "Complete"),
      finished("name3", "2020-07-29T15:38:00Z", "Complete"),
    ];
    assert.deepEqual(
      selectJobsForHistoryCleanup(jobs, { successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 2 }),
      {
        completed: ["name2"],
        failed: [],
      },
    );
  });
  it("limits 1/2, three of each, sorted by time → success3, success2 and fail2", () => {
    const jobs = [
      finished("success1", "2020-07-29T15:37:00Z", "Complete"),
      finished("success2", "2020-07-29T15:36:00Z", "Complete"),
      finished("success3", "2020-07-29T15:35:00Z", "Complete"),
      finished("fail1", "2020-07-29T15:37:00Z", "Failed"),
      finished("fail2", "2020-07-29T15:36:00Z", "Failed"),
      finished("fail3", "2020-07-29T15:38:00Z", "Failed"),
    ];
    assert.deepEqual(
      selectJobsForHistoryCleanup(jobs, { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 2 }),
      {
        completed: ["success3", "success2"],
        failed: ["fail2"],
      },
    );
  });
  it("default limits 100/100, 101 of each → the oldest one of each", () => {
    const jobs: JobSnapshot[] = [finished("success0", "2020-07-29T15:35:00Z", "Complete")];
    for (let i = 1; i < 101; i++) jobs.push(finished(`success${i}`, "2020-07-29T15:40:00Z", "Complete"));
    jobs.push(finished("fail101", "2020-07-29T15:35:00Z", "Failed"));
    for (let i = 102; i < 202; i++) jobs.push(finished(`fail${i}`, "2020-07-29T15:40:00Z", "Failed"));
    assert.deepEqual(selectJobsForHistoryCleanup(jobs), { completed: ["success0"], failed: ["fail101"] });
  });
  it("limit 0 deletes every finished job and never a running one", () => {
    const jobs = [
      finished("done", "2020-07-29T15:35:00Z", "Complete"),
      { name: "running", conditions: [{ type: "Complete", status: "False" }] },
      finished("failed", "2020-07-29T15:35:00Z", "Failed"),
    ];
    assert.deepEqual(
      selectJobsForHistoryCleanup(jobs, { successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 }),
      {
        completed: ["done"],
        failed: ["failed"],
      },
    );
  });
  it("a finished job without a time sorts as the oldest", () => {
    const jobs = [
      finished("a", "2020-07-29T15:35:00Z", "Failed"),
      { name: "b", conditions: [{ type: "Failed", status: "True" }] },
    ];
    assert.deepEqual(selectJobsForHistoryCleanup(jobs, { failedJobsHistoryLimit: 1 }).failed, ["b"]);
  });
});

describe("jobFinishedAs", () => {
  it("the first True Complete or Failed condition decides", () => {
    assert.equal(jobFinishedAs({ name: "j", conditions: [{ type: "Failed", status: "True" }] }), "Failed");
    assert.equal(
      jobFinishedAs({
        name: "j",
        conditions: [
          { type: "Suspended", status: "True" },
          { type: "Complete", status: "True" },
        ],
      }),
      "Complete",
    );
    assert.equal(
      jobFinishedAs({ name: "j", conditions: [{ type: "Complete", status: "False" }] }),
      undefined,
    );
    assert.equal(jobFinishedAs({ name: "j" }), undefined);
  });
});

describe("isJobPending (KEDA TestGetPendingJobCount)", () => {
  const ready = { type: "Ready", status: "True" };
  const scheduled = { type: "PodScheduled", status: "True" };
  const both = ["Ready", "PodScheduled"];
  const cases: { name: string; conditions?: string[]; pods: PodSnapshot[]; pending: boolean }[] = [
    { name: "Succeeded pod", pods: [{ phase: "Succeeded" }], pending: false },
    { name: "Running pod", pods: [{ phase: "Running" }], pending: false },
    { name: "Failed pod", pods: [{ phase: "Failed" }], pending: true },
    { name: "Pending pod", pods: [{ phase: "Pending" }], pending: true },
    { name: "Unknown pod", pods: [{ phase: "Unknown" }], pending: true },
    { name: "conditions: none met", conditions: both, pods: [{ conditions: [] }], pending: true },
    { name: "conditions: only Ready", conditions: both, pods: [{ conditions: [ready] }], pending: true },
    {
      name: "conditions: only PodScheduled",
      conditions: both,
      pods: [{ conditions: [scheduled] }],
      pending: true,
    },
    {
      name: "conditions: both met",
      conditions: both,
      pods: [{ conditions: [ready, scheduled] }],
      pending: false,
    },
    {
      name: "two pods, both meet all",
      conditions: both,
      pods: [{ conditions: [ready, scheduled] }, { conditions: [ready, scheduled] }],
      pending: false,
    },
    {
      name: "two pods, one meets all",
      conditions: both,
      pods: [{ conditions: [ready, scheduled] }, { conditions: [ready] }],
      pending: false,
    },
    {
      name: "two pods, each meets one",
      conditions: both,
      pods: [{ conditions: [ready] }, { conditions: [scheduled] }],
      pending: true,
    },
    {
      name: "three pods, the last meets all",
      conditions: both,
      pods: [{ conditions: [] }, { conditions: [ready] }, { conditions: [ready, scheduled] }],
      pending: false,
    },
    {
      name: "three pods, none meets all",
      conditions: both,
      pods: [{ conditions: [] }, { conditions: [ready] }, { conditions: [scheduled] }],
      pending: true,
    },
    {
      name: "empty condition list, Running pod",
      conditions: [],
      pods: [{ phase: "Running", conditions: [ready] }],
      pending: false,
    },
    { name: "no pods yet", pods: [], pending: true },
    {
      name: "a condition that is not True does not count",
      conditions: ["Ready"],
      pods: [{ conditions: [{ type: "Ready", status: "False" }] }],
      pending: true,
    },
  ];
  for (const t of cases) {
    it(t.name, () => assert.equal(isJobPending({ name: "j", pods: t.pods }, t.conditions), t.pending));
  }
});

describe("countRunningAndPendingJobs", () => {
  it("finished jobs are neither running nor pending", () => {
    const jobs: JobSnapshot[] = [
      finished("done", "2020-07-29T15:35:00Z", "Complete"),
      finished("failed", "2020-07-29T15:35:00Z", "Failed"),
      { name: "started", pods: [{ phase: "Running" }] },
      { name: "waiting", pods: [{ phase: "Pending" }] },
      { name: "new" },
    ];
    assert.deepEqual(countRunningAndPendingJobs(jobs), { running: 3, pending: 2 });
  });
  it("pendingPodConditions decide instead of the phase", () => {
    const jobs: JobSnapshot[] = [
      { name: "j", pods: [{ phase: "Running", conditions: [{ type: "Ready", status: "False" }] }] },
    ];
    assert.deepEqual(countRunningAndPendingJobs(jobs, ["Ready"]), { running: 1, pending: 1 });
    assert.deepEqual(countRunningAndPendingJobs(jobs), { running: 1, pending: 0 });
  });
});
