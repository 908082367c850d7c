import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { ProbeLoop, probePort, runProbe, type ProbeContext } from "./probes.js";

const ip = "127.1.250.9";

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, ip, () => resolve((server.address() as net.AddressInfo).port)),
  );
}

test("named and numeric probe ports", () => {
  const ports = [{ name: "http", containerPort: 8080 }];
  assert.equal(probePort(80, ports), 80);
  assert.equal(probePort("81", ports), 81);
  assert.equal(probePort("http", ports), 8080);
  assert.throws(() => probePort("metrics", ports), /names no port of the container/);
});

test("httpGet, tcpSocket and exec probes against a real server on a pod IP", async () => {
  let status = 200;
  const server = http.createServer((req, res) => {
    res.statusCode = req.url === "/ready" ? status : 404;
    res.end();
  });
  const port = await listen(server);
  const ctx: ProbeContext = {
    podIP: ip,
    ports: [{ name: "web", containerPort: port }],
    env: { PATH: process.env.PATH ?? "" },
    cwd: "/",
  };
  try {
    assert.deepEqual(await runProbe({ httpGet: { path: "/ready", port: "web" } }, ctx), { ok: true });
    status = 503;
    const failed = await runProbe({ httpGet: { path: "/ready", port } }, ctx);
    assert.equal(failed.ok, false);
    assert.match(failed.message ?? "", /statuscode: 503/);
    assert.deepEqual(await runProbe({ tcpSocket: { port } }, ctx), { ok: true });
  } finally {
    await new Promise((r) => server.close(r));
  }
  assert.equal((await runProbe({ tcpSocket: { port } }, ctx)).ok, false, "closed port fails");
  assert.equal((await runProbe({ httpGet: { path: "/", port } }, ctx)).ok, false);
  assert.deepEqual(await runProbe({ exec: { command: ["true"] } }, ctx), { ok: true });
  assert.equal((await runProbe({ exec: { command: ["false"] } }, ctx)).ok, false);
  assert.equal((await runProbe({ exec: { command: ["/no/such/binary"] } }, ctx)).ok, false);
  assert.equal((await runProbe({ grpc: { port: 1 } }, ctx)).ok, false);
  // an exec probe of a container runs behind its prefix (`podman exec <name>`; here `env X=1` stands in)
  const inX = { exec: { command: ["sh", "-c", 'test "$X" = 1'] } };
  assert.equal((await runProbe(inX, ctx)).ok, false);
  assert.deepEqual(await runProbe(inX, { ...ctx, execPrefix: ["env", "X=1"] }), { ok: true });
});

test("a probe loop flips after its thresholds", async () => {
  const server = net.createServer((s) => s.destroy());
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  const changes: boolean[] = [];
  const ctx: ProbeContext = { podIP: ip, ports: [], env: {}, cwd: "/" };
  // periodSeconds is whole seconds in Kubernetes; 1 s keeps this short
  const loop = new ProbeLoop(
    { tcpSocket: { port }, periodSeconds: 1, failureThreshold: 2 },
    ctx,
    false,
    (ok) => changes.push(ok),
  );
  loop.start();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(changes, [], "not ready while the port is closed");
  const again = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => again.listen(port, ip, () => r()));
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual(changes, [true]);
  await new Promise((r) => again.close(r));
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual(changes, [true], "one failure is below failureThreshold 2");
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(changes, [true, false]);
  loop.stop();
});
