import assert from "node:assert/strict";
import { test } from "node:test";
import { parseNameTable, resolveServiceName, serviceKeyOf } from "./service-names.js";

test("host names map to a Service as a pod's resolver with the cluster search path would", () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ["web.ns.svc.cluster.local", "other", "ns/web"],
    ["web.ns.svc.cluster.local.", "other", "ns/web"],
    ["WEB.NS.SVC", "other", "ns/web"],
    ["web.ns.svc", undefined, "ns/web"],
    ["web.ns", "other", "ns/web"],
    ["web", "ns", "ns/web"],
    ["web", undefined, undefined],
    ["example.com.au.net", "ns", undefined],
    ["a.b.c", "ns", undefined],
    ["web.ns.svc.other.domain", "ns", undefined],
    ["127.0.0.1", "ns", undefined],
    ["bad_name.ns.svc", "ns", undefined],
    ["", "ns", undefined],
  ];
  for (const [host, ns, want] of cases) assert.equal(serviceKeyOf(host, ns), want, `${host} from ${ns}`);
});

test("resolution goes through the table; names of no Service are left to the normal resolver", () => {
  const table = { services: { "ns/web": "127.253.0.1", "ns/leader": "127.253.0.2" } };
  assert.equal(resolveServiceName(table, "web.ns.svc", "x"), "127.253.0.1");
  assert.equal(resolveServiceName(table, "leader", "ns"), "127.253.0.2");
  assert.equal(
    resolveServiceName(table, "leader", "other"),
    undefined,
    "short names only in the pod's namespace",
  );
  assert.equal(resolveServiceName(table, "gone.ns.svc", "ns"), undefined);
  assert.equal(resolveServiceName(table, "localhost", "ns"), undefined);
});

test("a table file that is half-written or foreign resolves nothing instead of failing", () => {
  assert.deepEqual(parseNameTable('{"services":{"ns/web":"127.253.0.1"}}'), {
    services: { "ns/web": "127.253.0.1" },
  });
  assert.deepEqual(parseNameTable('{"services":{"ns/web":"127.2'), { services: {} });
  assert.deepEqual(parseNameTable("null"), { services: {} });
  assert.deepEqual(parseNameTable('{"services":[1]}'), { services: {} });
  assert.deepEqual(parseNameTable('{"services":{"ns/web":5}}'), { services: {} });
});
