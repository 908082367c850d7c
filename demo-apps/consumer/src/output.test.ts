import { test } from "node:test";
import assert from "node:assert/strict";
import { COLOURS, consoleLines, paletteFor, PLAIN } from "./output.js";

test("plain lines read like the Go consumer's", () => {
  const l = consoleLines(PLAIN);
  assert.equal(
    l.started(["a:9092", "b:9092"], "g1", "my-topic"),
    "Waiting for messages on broker: [a:9092 b:9092] group: g1 topic: my-topic",
  );
  assert.equal(l.waiting("-1", "-1"), "Waiting for a new message. Current Offset: -1, Lag: -1");
  assert.equal(
    l.message("my-topic", 3, "17", "Key-4", "Message No: 4, Time: x"),
    "message at topic/partition/offset my-topic/3/17: Key-4 = Message No: 4, Time: x",
  );
  assert.equal(l.slept("3"), "Slept for 3 seconds");
  assert.equal(l.signal("SIGTERM"), "Got signal: terminated");
  assert.equal(l.signal("SIGINT"), "Got signal: interrupt");
  assert.equal(l.closed(), "Closed the reader");
  assert.equal(l.error("boom"), "Error occured while waiting for message boom");
});

test("colours only on a terminal without NO_COLOR", () => {
  assert.equal(paletteFor({ isTTY: false }, {}), PLAIN);
  assert.equal(paletteFor({}, {}), PLAIN);
  assert.equal(paletteFor({ isTTY: true }, {}), COLOURS);
  assert.equal(paletteFor({ isTTY: true }, { NO_COLOR: "1" }), PLAIN);
  assert.equal(consoleLines(COLOURS).slept("1"), "\x1b[33mSlept for \x1b[34m1 seconds\x1b[0m");
});
