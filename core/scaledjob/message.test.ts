import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  dispatchSettings,
  messageEnv,
  messageJobName,
  OFFSET_LABEL,
  PARTITION_LABEL,
  protectUncommitted,
  type DispatchedMessage,
} from "./message.js";
import type { BatchJob } from "./job-object.js";

describe("messageJobName", () => {
  it("short names are <scaledjob>-<partition>-<offset>", () => {
    assert.equal(messageJobName("worker", 3, "1200"), "worker-3-1200");
  });
  it("long names are cut to 63 characters with a hash that keeps two ScaledJobs apart", () => {
    const a = "a".repeat(70);
    const b = `${"a".repeat(69)}b`;
    const na = messageJobName(a, 12, "9223372036854775807");
    const nb = messageJobName(b, 12, "9223372036854775807");
    assert.ok(na.length <= 63 && nb.length <= 63, `${na} ${nb}`);
    assert.notEqual(na, nb);
    assert.match(na, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    assert.ok(na.endsWith("-12-9223372036854775807"));
    assert.equal(messageJobName(a, 12, "9223372036854775807"), na, "deterministic");
  });
  it("a cut never leaves a dash before the hash doubled", () => {
    const n = messageJobName(`${"x".repeat(30)}-${"y".repeat(40)}`, 0, "1");
    assert.doesNotMatch(n, /--/);
  });
});

describe("messageEnv", () => {
  const m: DispatchedMessage = {
    topic: "t",
    partition: 1,
    offset: "42",
    key: Buffer.from("k-1"),
    value: Buffer.from("hello"),
    timestamp: "1700000000000",
    headers: { h: "v" },
  };
  const env = (msg: DispatchedMessage, max = 4096) =>
    Object.fromEntries(messageEnv(msg, max).map((e) => [e.name, e.value]));
  it("coordinates, key, headers and the value under the size", () => {
    assert.deepEqual(env(m), {
      LAGSCALE_MESSAGE_TOPIC: "t",
      LAGSCALE_MESSAGE_PARTITION: "1",
      LAGSCALE_MESSAGE_OFFSET: "42",
      LAGSCALE_MESSAGE_TIMESTAMP: "1700000000000",
      LAGSCALE_MESSAGE_KEY: "k-1",
      LAGSCALE_MESSAGE_KEY_ENCODING: "utf8",
      LAGSCALE_MESSAGE_HEADERS: '{"h":"v"}',
      LAGSCALE_MESSAGE_VALUE_SIZE: "5",
      LAGSCALE_MESSAGE_VALUE: "hello",
      LAGSCALE_MESSAGE_VALUE_ENCODING: "utf8",
    });
  });
  it("a value over the size is omitted; binary is base64; no key is 'none'", () => {
    assert.equal(env(m, 4).LAGSCALE_MESSAGE_VALUE_ENCODING, "omitted");
    assert.equal(env(m, 4).LAGSCALE_MESSAGE_VALUE, "");
    assert.equal(env(m, 5).LAGSCALE_MESSAGE_VALUE, "hello");
    const bin = env({ ...m, key: null, value: Buffer.from([0xff, 0x00]) });
    assert.equal(bin.LAGSCALE_MESSAGE_VALUE, "/wA=");
    assert.equal(bin.LAGSCALE_MESSAGE_VALUE_ENCODING, "base64");
    assert.equal(bin.LAGSCALE_MESSAGE_KEY_ENCODING, "none");
  });
});

describe("protectUncommitted", () => {
  const job = (name: string, partition: number, offset: number): BatchJob => ({
    metadata: { name, labels: { [PARTITION_LABEL]: String(partition), [OFFSET_LABEL]: String(offset) } },
  });
  const jobs = [job("a", 0, 5), job("b", 0, 9), job("c", 1, 2), { metadata: { name: "count-mode" } }];
  const cleanup = { completed: ["a", "b", "count-mode"], failed: ["c"] };
  it("keeps Jobs at or past the committed offset and of partitions with nothing committed", () => {
    assert.deepEqual(protectUncommitted(cleanup, jobs, new Map([[0, 9n]])), {
      completed: ["a", "count-mode"],
      failed: [],
    });
    assert.deepEqual(
      protectUncommitted(
        cleanup,
        jobs,
        new Map([
          [0, 10n],
          [1, 3n],
        ]),
      ),
      cleanup,
    );
  });
  it("deletes nothing when the committed offsets could not be read", () => {
    assert.deepEqual(protectUncommitted(cleanup, jobs, undefined), { completed: [], failed: [] });
  });
});

describe("dispatchSettings", () => {
  it("count unless perMessage; the inline size defaults to 4096", () => {
    assert.deepEqual(dispatchSettings({}), { mode: "count", maxInlineValueBytes: 4096 });
    assert.deepEqual(dispatchSettings({ dispatch: { mode: "perMessage", maxInlineValueBytes: 10 } }), {
      mode: "perMessage",
      maxInlineValueBytes: 10,
    });
  });
});
