import assert from "node:assert/strict";
import { test } from "node:test";
import type { PartitionOffsets } from "../core/lag/index.js";
import { parseReport } from "../core/reports/schema.js";
import {
  classify,
  EMPTY_MEMORY,
  toReport,
  type ClassifyMemory,
  type ClassifyOptions,
  type PodReading,
} from "./classify.js";

const OPTIONS: ClassifyOptions = {
  consumerGroup: "g",
  offsetResetPolicy: "latest",
  stallWindowMs: 30_000,
  rateWindowMs: 10_000,
};

/** [committed, logEnd] per partition of topic "t", partition = index. */
type Offsets = readonly (readonly [number, number])[];

function reading(at: number, offsets: Offsets, groupState = "Stable"): PodReading {
  const partitions: PartitionOffsets[] = offsets.map(([committed, latest], partition) => ({
    topic: "t",
    partition,
    committed,
    latest,
  }));
  return { observedAt: at, groupState, members: 1, partitions };
}

/** Classifies a sequence of readings, each fed the memory of the one before; returns the last result. */
function run(steps: readonly { at: number; offsets: Offsets; groupState?: string }[], options = OPTIONS) {
  let memory: ClassifyMemory = EMPTY_MEMORY;
  let last: ReturnType<typeof classify> | undefined;
  for (const s of steps) {
    last = classify(reading(s.at, s.offsets, s.groupState), memory, options);
    memory = last.memory;
  }
  return last!;
}

const STATE_TABLE: {
  name: string;
  steps: { at: number; offsets: Offsets; groupState?: string }[];
  state: string;
  stalled: boolean[];
}[] = [
  { name: "nothing assigned", steps: [{ at: 0, offsets: [] }], state: "idle", stalled: [] },
  {
    name: "no lag, nothing moving",
    steps: [
      { at: 0, offsets: [[5, 5]] },
      { at: 1000, offsets: [[5, 5]] },
    ],
    state: "idle",
    stalled: [false],
  },
  {
    name: "no lag but consuming (keeping up)",
    steps: [
      { at: 0, offsets: [[5, 5]] },
      { at: 1000, offsets: [[9, 9]] },
    ],
    state: "busy",
    stalled: [false],
  },
  {
    name: "lag on the first reading",
    steps: [{ at: 0, offsets: [[0, 10]] }],
    state: "busy",
    stalled: [false],
  },
  {
    name: "lag and moving",
    steps: [
      { at: 0, offsets: [[0, 10]] },
      { at: 40_000, offsets: [[3, 10]] },
    ],
    state: "busy",
    stalled: [false],
  },
  {
    name: "lag, not moving, inside the window",
    steps: [
      { at: 0, offsets: [[0, 10]] },
      { at: 29_999, offsets: [[0, 10]] },
    ],
    state: "busy",
    stalled: [false],
  },
  {
    name: "lag, not moving for the window: stalled",
    steps: [
      { at: 0, offsets: [[0, 10]] },
      { at: 30_000, offsets: [[0, 10]] },
    ],
    state: "stalled",
    stalled: [true],
  },
  {
    name: "window counts from when lag appeared, not from the last commit",
    steps: [
      { at: 0, offsets: [[5, 5]] },
      { at: 60_000, offsets: [[5, 9]] },
      { at: 80_000, offsets: [[5, 9]] },
    ],
    state: "busy",
    stalled: [false],
  },
  {
    name: "window restarts when the committed offset moves",
    steps: [
      { at: 0, offsets: [[0, 10]] },
      { at: 20_000, offsets: [[1, 10]] },
      { at: 40_000, offsets: [[1, 10]] },
    ],
    state: "busy",
    stalled: [false],
  },
  {
    name: "never committed, latest: the trigger's lag 1 is no work for the consumer",
    steps: [
      { at: 0, offsets: [[-1, 10]] },
      { at: 30_000, offsets: [[-1, 10]] },
    ],
    state: "idle",
    stalled: [false],
  },
  {
    name: "one stalled, one busy: busy",
    steps: [
      {
        at: 0,
        offsets: [
          [0, 10],
          [0, 10],
        ],
      },
      {
        at: 30_000,
        offsets: [
          [0, 10],
          [4, 10],
        ],
      },
    ],
    state: "busy",
    stalled: [true, false],
  },
  {
    name: "one stalled, one without lag: stalled",
    steps: [
      {
        at: 0,
        offsets: [
          [0, 10],
          [3, 3],
        ],
      },
      {
        at: 30_000,
        offsets: [
          [0, 10],
          [3, 3],
        ],
      },
    ],
    state: "stalled",
    stalled: [true, false],
  },
  {
    name: "rebalancing wins over lag",
    steps: [{ at: 0, offsets: [[0, 10]], groupState: "PreparingRebalance" }],
    state: "rebalancing",
    stalled: [false],
  },
  {
    name: "completing a rebalance",
    steps: [{ at: 0, offsets: [], groupState: "CompletingRebalance" }],
    state: "rebalancing",
    stalled: [],
  },
  {
    name: "lag gone: stall forgotten",
    steps: [
      { at: 0, offsets: [[0, 10]] },
      { at: 30_000, offsets: [[10, 10]] },
      { at: 70_000, offsets: [[10, 11]] },
    ],
    state: "busy",
    stalled: [false],
  },
];

for (const c of STATE_TABLE) {
  test(`state: ${c.name} → ${c.state}`, () => {
    const r = run(c.steps);
    assert.equal(r.state, c.state);
    assert.deepEqual(
      r.partitions.map((p) => p.stalled),
      c.stalled,
    );
  });
}

test("stalledForMs counts from the last move while there is lag, and is 0 without lag", () => {
  const r = run([
    {
      at: 0,
      offsets: [
        [0, 10],
        [4, 4],
      ],
    },
    {
      at: 5_000,
      offsets: [
        [2, 10],
        [4, 4],
      ],
    },
    {
      at: 12_000,
      offsets: [
        [2, 10],
        [4, 4],
      ],
    },
  ]);
  assert.deepEqual(
    r.partitions.map((p) => p.stalledForMs),
    [7_000, 0],
  );
});

const RATE_TABLE: { name: string; steps: { at: number; committed: number }[]; rate: number }[] = [
  { name: "one reading", steps: [{ at: 0, committed: 5 }], rate: 0 },
  {
    name: "10 in 2 s",
    steps: [
      { at: 0, committed: 0 },
      { at: 2_000, committed: 10 },
    ],
    rate: 5,
  },
  {
    name: "spans the window with the sample just before it",
    steps: [
      { at: 0, committed: 0 },
      { at: 5_000, committed: 100 },
      { at: 15_000, committed: 110 },
      { at: 20_000, committed: 120 },
    ],
    // The window is (10 s, 20 s]; the sample at 5 s is the last one before it: 20 messages in 15 s.
    rate: 20 / 15,
  },
  {
    name: "offset reset starts over",
    steps: [
      { at: 0, committed: 50 },
      { at: 1_000, committed: 10 },
    ],
    rate: 0,
  },
  {
    name: "no commit yet",
    steps: [
      { at: 0, committed: -1 },
      { at: 1_000, committed: -1 },
    ],
    rate: 0,
  },
];

for (const c of RATE_TABLE) {
  test(`rate: ${c.name}`, () => {
    const r = run(c.steps.map((s) => ({ at: s.at, offsets: [[s.committed, 1_000]] as const })));
    assert.ok(Math.abs(r.partitions[0]!.ratePerSecond - c.rate) < 1e-9, `${r.partitions[0]!.ratePerSecond}`);
    assert.ok(Math.abs(r.ratePerSecond - c.rate) < 1e-9);
  });
}

test("never committed under latest: lag 1 is reported as the trigger counts it", () => {
  const r = run([{ at: 0, offsets: [[-1, 0]] }]);
  assert.equal(r.lag, 1);
  assert.equal(r.partitions[0]!.stalledForMs, 0);
});

test("never committed under earliest: the log is work, and stalls", () => {
  const r = run(
    [
      { at: 0, offsets: [[-1, 10]] },
      { at: 30_000, offsets: [[-1, 10]] },
    ],
    { ...OPTIONS, offsetResetPolicy: "earliest" },
  );
  assert.equal(r.state, "stalled");
  assert.equal(r.lag, 10);
});

test("lag follows core/lag: earliest with nothing committed counts the log from its start", () => {
  const r = classify(
    {
      observedAt: 0,
      groupState: "Stable",
      members: 1,
      partitions: [{ topic: "t", partition: 0, committed: -1, latest: 50, logStart: 20 }],
    },
    EMPTY_MEMORY,
    { ...OPTIONS, offsetResetPolicy: "earliest" },
  );
  assert.equal(r.lag, 30);
  assert.equal(r.partitions[0]!.committedOffset, -1);
  assert.equal(r.partitions[0]!.logEndOffset, 50);
});

test("memory keeps only assigned partitions", () => {
  const first = classify(
    reading(0, [
      [0, 1],
      [0, 1],
    ]),
    EMPTY_MEMORY,
    OPTIONS,
  );
  assert.deepEqual([...first.memory.keys()], ["t/0", "t/1"]);
  const second = classify(reading(1_000, [[0, 1]]), first.memory, OPTIONS);
  assert.deepEqual([...second.memory.keys()], ["t/0"]);
});

test("the partitions and sums fit the report schema", () => {
  const r = run([
    {
      at: 0,
      offsets: [
        [0, 10],
        [3, 7],
      ],
    },
    {
      at: 3_000,
      offsets: [
        [2, 12],
        [3, 7],
      ],
    },
  ]);
  const parsed = parseReport({
    version: 1,
    pod: { namespace: "ns", name: "pod-a", ip: "10.0.0.1" },
    scaledObject: "so",
    consumerGroup: "g",
    observedAt: 3_000,
    urgent: false,
    state: r.state,
    groupState: "Stable",
    members: 1,
    partitions: r.partitions,
    lag: r.lag,
    ratePerSecond: r.ratePerSecond,
  });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.equal(r.lag, 14);
});

test("toReport builds a body parseReport accepts, unsupported groups included", () => {
  const identity = {
    pod: { namespace: "ns", name: "pod-a", ip: "10.0.0.1" },
    scaledObject: "so",
    consumerGroup: "g",
  };
  const busy = reading(1_000, [[0, 10]]);
  const report = toReport(identity, busy, classify(busy, EMPTY_MEMORY, OPTIONS), true);
  assert.ok(parseReport(report).ok);
  assert.equal(report.urgent, true);
  assert.equal(report.lag, 10);
  const odd: PodReading = {
    observedAt: 0,
    groupState: "x".repeat(100),
    members: 0,
    partitions: [],
    unsupported: "KIP-848",
  };
  const unsupported = toReport(identity, odd, classify(odd, EMPTY_MEMORY, OPTIONS), false);
  assert.ok(parseReport(unsupported).ok, JSON.stringify(parseReport(unsupported)));
  assert.equal(unsupported.state, "idle");
  assert.equal(unsupported.unsupported, "KIP-848");
});
