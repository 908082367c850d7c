/**
 * The multi-group OffsetFetch v8 and batched FindCoordinator v4 codecs against byte fixtures written by hand
 * from Kafka's schemas (OffsetFetchRequest/Response.json, FindCoordinatorRequest/Response.json). The same
 * requests against the real broker: test/lag/lag-reader.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeFindCoordinatorV4, encodeFindCoordinatorV4 } from "./find-coordinator-v4.js";
import { decodeOffsetFetchV8, encodeOffsetFetchV8, offsetFetchV8Request } from "./offset-fetch-v8.js";

/** Hex with spaces (one field a group) to bytes. */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");
const str = (s: string) => (s.length + 1).toString(16).padStart(2, "0") + Buffer.from(s).toString("hex");

test("OffsetFetch v8 request: groups with named partitions and with null topics (all committed topics)", () => {
  const body = encodeOffsetFetchV8([
    { groupId: "g", topics: [{ topic: "t", partitions: [0, 1] }] },
    { groupId: "h", topics: null },
  ]).buffer;
  const expected = hex(`
    00
    03
      ${str("g")}
        02
          ${str("t")} 03 00000000 00000001 00
        00
      ${str("h")}
        00
        00
    00
    00`);
  assert.equal(body.toString("hex"), expected.toString("hex"));
});

test("OffsetFetch v8 request: no groups encodes an empty compact array, not null", () => {
  assert.equal(encodeOffsetFetchV8([]).buffer.toString("hex"), "00010000");
});

test("OffsetFetch v8 response: offsets per group, -1 for no commit, group-level and partition-level errors", () => {
  const raw = hex(`
    00
    00000000
    04
      ${str("g")}
        02
          ${str("t")}
            03
              00000000 0000000000000005 ffffffff 00 0000 00
              00000001 ffffffffffffffff ffffffff 01 0000 00
          00
        0000 00
      ${str("h")}
        01
        0010 00
      ${str("i")}
        02
          ${str("u")} 02 00000007 0000000100000000 00000003 ${str("m")} 0003 00 00
        0000 00
    00`);
  assert.deepEqual(decodeOffsetFetchV8(raw), {
    throttleTime: 0,
    groups: [
      {
        groupId: "g",
        errorCode: 0,
        topics: [
          {
            topic: "t",
            partitions: [
              { partition: 0, offset: "5", leaderEpoch: -1, errorCode: 0 },
              { partition: 1, offset: "-1", leaderEpoch: -1, errorCode: 0 },
            ],
          },
        ],
      },
      { groupId: "h", errorCode: 16, topics: [] },
      {
        groupId: "i",
        errorCode: 0,
        topics: [
          { topic: "u", partitions: [{ partition: 7, offset: "4294967296", leaderEpoch: 3, errorCode: 3 }] },
        ],
      },
    ],
  });
});

test("OffsetFetch v8 as kafkajs sends it: API key 9, version 8, the throttle time handed to kafkajs's queue", async () => {
  const { request, response } = offsetFetchV8Request([{ groupId: "g", topics: null }]);
  assert.deepEqual([request.apiKey, request.apiVersion, request.apiName], [9, 8, "OffsetFetch"]);
  assert.equal((await request.encode()).buffer.toString("hex"), `0002${str("g")}00000000`);
  const decoded = await response.decode(hex(`00 00000064 01 00`));
  assert.equal(decoded.clientSideThrottleTime, 100);
});

test("FindCoordinator v4 request: key type 0 (group) and the keys as a compact array", () => {
  assert.equal(
    encodeFindCoordinatorV4(["g", "h"]).buffer.toString("hex"),
    hex(`00 00 03 ${str("g")} ${str("h")} 00`).toString("hex"),
  );
});

test("FindCoordinator v4 response: one coordinator per key, errors per key", () => {
  const raw = hex(`
    00
    00000000
    03
      ${str("g")} 00000001 ${str("localhost")} 00002384 0000 00 00
      ${str("h")} ffffffff 01 ffffffff 000f ${str("not available")} 00
    00`);
  assert.deepEqual(decodeFindCoordinatorV4(raw), {
    throttleTime: 0,
    coordinators: [
      { key: "g", nodeId: 1, host: "localhost", port: 9092, errorCode: 0, errorMessage: null },
      { key: "h", nodeId: -1, host: "", port: -1, errorCode: 15, errorMessage: "not available" },
    ],
  });
});
