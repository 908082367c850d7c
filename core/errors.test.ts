import assert from "node:assert/strict";
import { test } from "node:test";
import { errorLine, errorText } from "./errors.js";

test("errorText: an Error's message, anything else as a string, cut at maxChars with an ellipsis", () => {
  const cases: [unknown, number | undefined, string][] = [
    [new Error("broker down"), undefined, "broker down"],
    ["plain string", undefined, "plain string"],
    [42, undefined, "42"],
    [undefined, undefined, "undefined"],
    [new Error("abcdef"), 3, "abc…"],
    [new Error("abc"), 3, "abc"],
  ];
  for (const [err, max, want] of cases) assert.equal(errorText(err, max), want, String(err));
});

test("errorLine: the first line of the error's text", () => {
  assert.equal(errorLine(new Error("forbidden\nat line 2")), "forbidden");
  assert.equal(errorLine("one line"), "one line");
  assert.equal(errorLine(new Error("")), "");
});
