import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { pickPodsToRemove, podDeletionCosts, type PodState, type PodSummary } from "./pods.js";

const pod = (name: string, state: PodState, lag: number): PodSummary => ({ name, state, lag });

describe("pickPodsToRemove", () => {
  const pods = [
    pod("busy-big", "busy", 900),
    pod("stalled", "stalled", 5000),
    pod("busy-small", "busy", 10),
    pod("idle-b", "idle", 0),
    pod("rebalancing", "rebalancing", 50),
    pod("idle-a", "idle", 0),
  ];
  it("removes idle pods first, then stalled ones, then the lowest lag", () => {
    assert.deepEqual(
      pickPodsToRemove(pods, 6).map((p) => p.name),
      ["idle-a", "idle-b", "stalled", "busy-small", "rebalancing", "busy-big"],
    );
  });
  it("returns only n pods, and none for n <= 0", () => {
    assert.deepEqual(
      pickPodsToRemove(pods, 3).map((p) => p.name),
      ["idle-a", "idle-b", "stalled"],
    );
    assert.deepEqual(pickPodsToRemove(pods, 0), []);
    assert.deepEqual(pickPodsToRemove(pods, -2), []);
    assert.equal(pickPodsToRemove(pods, 99).length, pods.length);
  });
  it("deletion costs: the chosen pods get the lowest costs in removal order, the others 0", () => {
    assert.deepEqual(podDeletionCosts(pods, 2), {
      "busy-big": 0,
      stalled: 0,
      "busy-small": 0,
      "idle-b": -1,
      rebalancing: 0,
      "idle-a": -2,
    });
  });
  it("property: never removes a busy pod while a less loaded busy pod, an idle or a stalled pod stays", () => {
    const arb = fc.uniqueArray(
      fc.record({
        name: fc.string({ minLength: 1, maxLength: 6 }),
        state: fc.constantFrom<PodState>("busy", "idle", "stalled", "rebalancing"),
        lag: fc.nat({ max: 1000 }),
      }),
      { selector: (p) => p.name, maxLength: 12 },
    );
    fc.assert(
      fc.property(arb, fc.nat({ max: 12 }), (ps, n) => {
        const chosen = pickPodsToRemove(ps, n);
        const names = new Set(chosen.map((p) => p.name));
        const kept = ps.filter((p) => !names.has(p.name));
        for (const c of chosen) {
          for (const k of kept) {
            if (c.state === "busy" || c.state === "rebalancing") {
              assert.ok(
                k.state !== "idle" && k.state !== "stalled",
                `${c.name} removed while ${k.name} (${k.state}) stays`,
              );
              assert.ok(
                k.lag >= c.lag,
                `${c.name} (lag ${c.lag}) removed while ${k.name} (lag ${k.lag}) stays`,
              );
            }
            if (c.state === "stalled") assert.notEqual(k.state, "idle");
          }
        }
      }),
    );
  });
});
