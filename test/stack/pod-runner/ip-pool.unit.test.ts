import assert from "node:assert/strict";
import { test } from "node:test";
import {
  IpPool,
  ipToNumber,
  numberToIp,
  POOL_LAST,
  SERVICE_POOL_FIRST,
  SERVICE_POOL_LAST,
} from "./ip-pool.js";

test("addresses convert both ways and bad input is rejected", () => {
  for (const ip of ["127.1.0.1", "127.254.255.254", "0.0.0.0", "255.255.255.255"]) {
    assert.equal(numberToIp(ipToNumber(ip)), ip);
  }
  for (const bad of ["127.1.0", "127.1.0.256", "a.b.c.d", "127.1.0.1.2", ""]) {
    assert.throws(() => ipToNumber(bad), /is not an IPv4 address/);
  }
});

test("the default pool hands out 127.x.y.z, never 127.0.0.1, never .0 or .255", () => {
  const pool = new IpPool();
  const first = pool.allocate();
  assert.equal(first, "127.1.0.1");
  const seen = new Set([first]);
  for (let i = 0; i < 600; i++) {
    const ip = pool.allocate();
    assert.ok(!seen.has(ip), `${ip} handed out twice`);
    assert.ok(ip.startsWith("127.") && !ip.startsWith("127.0."), ip);
    assert.ok(!ip.endsWith(".0") && !ip.endsWith(".255"), ip);
    seen.add(ip);
  }
});

test("an address in use is never handed out again; a released one only after the rest of the range", () => {
  const pool = new IpPool(ipToNumber("127.1.0.1"), ipToNumber("127.1.0.4"));
  const a = pool.allocate();
  const b = pool.allocate();
  pool.release(a);
  assert.equal(pool.allocate(), "127.1.0.3");
  assert.equal(pool.allocate(), "127.1.0.4");
  assert.equal(pool.allocate(), a, "wraps around to the released address");
  assert.throws(() => pool.allocate(), /all pod IPs .* are in use/);
  assert.ok(pool.has(b));
});

test("reserve takes addresses pods already have, refusing taken or foreign ones", () => {
  const pool = new IpPool(ipToNumber("127.1.0.1"), ipToNumber("127.1.0.3"));
  assert.equal(pool.reserve("127.1.0.2"), true);
  assert.equal(pool.reserve("127.1.0.2"), false, "already taken");
  assert.equal(pool.reserve("127.0.0.1"), false, "outside the pool");
  assert.equal(pool.reserve("10.0.0.1"), false);
  assert.equal(pool.reserve("nonsense"), false);
  assert.equal(pool.allocate(), "127.1.0.1");
  assert.equal(pool.allocate(), "127.1.0.3", "skips the reserved address");
  assert.equal(pool.size, 3);
});

test("pods never get the Service proxy's addresses (127.253.0.0/16)", () => {
  assert.ok(POOL_LAST < SERVICE_POOL_FIRST, "the pod range ends before the Service range");
  assert.equal(numberToIp(SERVICE_POOL_FIRST), "127.253.0.1");
  assert.equal(numberToIp(SERVICE_POOL_LAST), "127.253.255.254");
  const pool = new IpPool();
  assert.equal(pool.reserve("127.253.0.1"), false, "a pod IP from before in the Service range is not kept");
});
