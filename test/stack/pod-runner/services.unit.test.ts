import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1Service, V1ServicePort } from "@kubernetes/client-node";
import {
  backendsFor,
  isProxied,
  MANAGED_BY_LABEL,
  pickBackend,
  renderEndpointSlice,
  selects,
  SERVICE_NAME_LABEL,
  SLICE_MANAGER,
  targetPortOf,
  tcpPorts,
  type PodView,
} from "./services.js";

function pod(name: string, over: Partial<PodView> = {}): PodView {
  return {
    namespace: "ns",
    name,
    uid: `uid-${name}`,
    ip: `127.1.0.${name.length}`,
    labels: { app: "web" },
    ready: true,
    ports: [{ name: "https", containerPort: 8443 }],
    ...over,
  };
}

function service(
  selector: Record<string, string> | undefined,
  ports: V1ServicePort[] = [{ port: 443 }],
): V1Service {
  return { metadata: { name: "web", namespace: "ns", uid: "svc-uid" }, spec: { selector, ports } };
}

test("a selector selects pods carrying every one of its labels; no selector selects none", () => {
  const cases: [Record<string, string> | undefined, Record<string, string>, boolean][] = [
    [{ app: "web" }, { app: "web", x: "1" }, true],
    [{ app: "web", "lagscale.io/leader": "true" }, { app: "web" }, false],
    [{ app: "web", "lagscale.io/leader": "true" }, { app: "web", "lagscale.io/leader": "true" }, true],
    [{ app: "web" }, { app: "api" }, false],
    [{}, { app: "web" }, false],
    [undefined, { app: "web" }, false],
  ];
  for (const [selector, labels, want] of cases) {
    assert.equal(selects(selector, labels), want, `${JSON.stringify(selector)} on ${JSON.stringify(labels)}`);
  }
});

test("only Services with a selector, not ExternalName, are proxied; only their TCP ports", () => {
  assert.equal(isProxied(service({ app: "web" })), true);
  assert.equal(isProxied(service(undefined)), false);
  assert.equal(
    isProxied({ ...service({ app: "web" }), spec: { selector: { app: "web" }, type: "ExternalName" } }),
    false,
  );
  const svc = service({ app: "web" }, [
    { name: "a", port: 1 },
    { name: "b", port: 2, protocol: "UDP" },
    { name: "c", port: 3, protocol: "TCP" },
  ]);
  assert.deepEqual(
    tcpPorts(svc).map((p) => p.name),
    ["a", "c"],
  );
});

test("targetPort: unset is the Service port, a number as is, a name through the container ports", () => {
  const p = pod("a", {
    ports: [
      { name: "https", containerPort: 8443 },
      { name: "dns", containerPort: 53, protocol: "UDP" },
    ],
  });
  const cases: [V1ServicePort, number | undefined][] = [
    [{ port: 443 }, 443],
    [{ port: 443, targetPort: 9444 as unknown as V1ServicePort["targetPort"] }, 9444],
    [{ port: 443, targetPort: "8080" as unknown as V1ServicePort["targetPort"] }, 8080],
    [{ port: 443, targetPort: "https" as unknown as V1ServicePort["targetPort"] }, 8443],
    [{ port: 443, targetPort: "metrics" as unknown as V1ServicePort["targetPort"] }, undefined],
    [{ port: 53, targetPort: "dns" as unknown as V1ServicePort["targetPort"] }, undefined],
  ];
  for (const [port, want] of cases) assert.equal(targetPortOf(port, p), want, JSON.stringify(port));
});

test("backends: ready, selected pods of the Service's namespace that have the port, in a stable order", () => {
  const svc = service({ app: "web" }, [
    { name: "https", port: 443, targetPort: "https" as unknown as number },
  ]);
  const pods = [
    pod("web-b"),
    pod("web-a"),
    pod("web-unready", { ready: false }),
    pod("other-app", { labels: { app: "api" } }),
    pod("elsewhere", { namespace: "other" }),
    pod("no-port", { ports: [] }),
  ];
  const got = backendsFor(svc, svc.spec!.ports![0]!, pods);
  assert.deepEqual(
    got.map((b) => [b.pod, b.port]),
    [
      ["ns/web-a", 8443],
      ["ns/web-b", 8443],
    ],
  );
  // the leader Service follows the label: only the pod carrying it now
  const leader = service({ app: "web", "lagscale.io/leader": "true" });
  const labelled = pods.map((p) =>
    p.name === "web-b" ? { ...p, labels: { ...p.labels, "lagscale.io/leader": "true" } } : p,
  );
  assert.deepEqual(
    backendsFor(leader, leader.spec!.ports![0]!, labelled).map((b) => b.pod),
    ["ns/web-b"],
  );
  assert.deepEqual(backendsFor(leader, leader.spec!.ports![0]!, pods), []);
});

test("round-robin over the backends; none: undefined", () => {
  const bs = [
    { uid: "a", pod: "ns/a", ip: "127.1.0.1", port: 1 },
    { uid: "b", pod: "ns/b", ip: "127.1.0.2", port: 1 },
  ];
  assert.deepEqual(
    [0, 1, 2, 3].map((t) => pickBackend(bs, t)?.uid),
    ["a", "b", "a", "b"],
  );
  assert.equal(pickBackend([], 0), undefined);
});

test("the EndpointSlice: our manager, the Service's name, the host address, ports named as the Service's", () => {
  const svc = service({ app: "web" }, [
    { name: "https", port: 443 },
    { name: "metrics", port: 9090 },
  ]);
  const slice = renderEndpointSlice(
    svc,
    "10.1.2.3",
    [
      { name: "https", port: 40001 },
      { name: "metrics", port: 40002 },
    ],
    true,
  );
  assert.equal(slice.metadata?.name, "web-lagscale");
  assert.equal(slice.metadata?.namespace, "ns");
  assert.deepEqual(slice.metadata?.labels, {
    [SERVICE_NAME_LABEL]: "web",
    [MANAGED_BY_LABEL]: SLICE_MANAGER,
  });
  assert.notEqual(
    SLICE_MANAGER,
    "endpointslice-controller.k8s.io",
    "kube-controller-manager's own slices differ",
  );
  assert.deepEqual(
    slice.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
    [["Service", "web", "svc-uid"]],
  );
  assert.equal(slice.addressType, "IPv4");
  assert.deepEqual(slice.endpoints, [
    { addresses: ["10.1.2.3"], conditions: { ready: true, serving: true, terminating: false } },
  ]);
  assert.deepEqual(slice.ports, [
    { name: "https", port: 40001, protocol: "TCP" },
    { name: "metrics", port: 40002, protocol: "TCP" },
  ]);
  const notReady = renderEndpointSlice(svc, "10.1.2.3", [{ name: "https", port: 40001 }], false);
  assert.equal(notReady.endpoints[0]?.conditions?.ready, false);
});
