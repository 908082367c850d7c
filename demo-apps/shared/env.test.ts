import { test } from "node:test";
import assert from "node:assert/strict";
import {
  atoi,
  envOr,
  parseBindAddress,
  parseBrokers,
  parseGroupId,
  parseOptionalIp,
  parseTopic,
} from "./env.js";

test("atoi follows Go's strconv.Atoi on 64-bit", () => {
  const table: [string, bigint | undefined][] = [
    ["0", 0n],
    ["42", 42n],
    ["+42", 42n],
    ["-42", -42n],
    ["007", 7n],
    ["-007", -7n],
    ["9223372036854775807", 9223372036854775807n],
    ["-9223372036854775808", -9223372036854775808n],
    ["9223372036854775808", undefined], // out of range is an error in Go
    ["", undefined],
    ["+", undefined],
    ["-", undefined],
    [" 5", undefined],
    ["5 ", undefined],
    ["1.5", undefined],
    ["1e3", undefined],
    ["0x10", undefined],
    ["1_000", undefined],
    ["abc", undefined],
    ["++1", undefined],
    ["٣", undefined], // non-ASCII digits are not digits to Atoi
  ];
  for (const [input, expected] of table)
    assert.equal(atoi(input), expected, `atoi(${JSON.stringify(input)})`);
});

test('envOr treats empty as unset, like os.Getenv + == ""', () => {
  assert.equal(envOr({}, "X", "d"), "d");
  assert.equal(envOr({ X: "" }, "X", "d"), "d");
  assert.equal(envOr({ X: "v" }, "X", "d"), "v");
});

test("parseBrokers takes one host:port or a comma list", () => {
  assert.deepEqual(parseBrokers("localhost:9092"), ["localhost:9092"]);
  assert.deepEqual(parseBrokers(" a:1 , b:2 ,"), ["a:1", "b:2"]);
  assert.deepEqual(parseBrokers("[::1]:9092"), ["[::1]:9092"]);
  assert.throws(() => parseBrokers("localhost"), /KAFKA_BROKER: "localhost" has no port/);
  assert.throws(() => parseBrokers("host:x"), /port "x" is not a number/);
  assert.throws(() => parseBrokers("host:0"), /out of range/);
  assert.throws(() => parseBrokers("host:70000"), /out of range/);
  assert.throws(() => parseBrokers(":9092"), /has no host/);
  assert.throws(() => parseBrokers(" , "), /KAFKA_BROKER is empty/);
  assert.throws(() => parseBrokers("::1:9092"), /bare IPv6/);
});

test("parseBindAddress accepts Go listen addresses", () => {
  assert.deepEqual(parseBindAddress(":8090"), { host: undefined, port: 8090 });
  assert.deepEqual(parseBindAddress("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseBindAddress("[::]:5550"), { host: "::", port: 5550 });
  assert.deepEqual(parseBindAddress("0.0.0.0:5550"), { host: "0.0.0.0", port: 5550 });
  assert.throws(() => parseBindAddress("8090"), /BIND_ADDRESS: "8090" has no port; write host:port/);
  assert.throws(() => parseBindAddress(":http"), /port "http" is not a number/);
  assert.throws(() => parseBindAddress("[::1]8090"), /not \[ipv6\]:port/);
});

test("parseOptionalIp: unset is fine, a value must be an IP", () => {
  assert.equal(parseOptionalIp(undefined), undefined);
  assert.equal(parseOptionalIp(" "), undefined);
  assert.equal(parseOptionalIp("10.1.2.3"), "10.1.2.3");
  assert.equal(parseOptionalIp("fd00::1"), "fd00::1");
  assert.throws(() => parseOptionalIp("pod-a"), /POD_IP="pod-a" is not an IP address/);
});

test("topic and group names", () => {
  assert.equal(parseTopic("my-topic"), "my-topic");
  assert.equal(parseTopic("a.b_c-1"), "a.b_c-1");
  assert.throws(() => parseTopic("my topic"), /not a valid Kafka topic name/);
  assert.throws(() => parseTopic(".."), /not a valid Kafka topic name/);
  assert.throws(() => parseTopic("x".repeat(250)), /not a valid Kafka topic name/);
  assert.equal(parseGroupId("g1"), "g1");
  assert.throws(() => parseGroupId("  "), /not a usable group id/);
  assert.throws(() => parseGroupId("a\nb"), /not a usable group id/);
});
