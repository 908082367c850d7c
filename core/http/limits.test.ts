import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { exchange } from "../../test/support/raw-http.js";
import { guard, hardenServer, HttpError, readBody, requestPath, serverOptions } from "./limits.js";

test("requestPath never throws and reads the path of every request-target form", () => {
  const cases: [string | undefined, string][] = [
    [undefined, "/"],
    ["/", "/"],
    ["//", "//"],
    ["/metrics?verbose", "/metrics"],
    ["/a%zz?b", "/a%zz"],
    ["http://host/healthz?x", "/healthz"],
    ["HTTP://host:99999999/readyz", "/readyz"],
    ["http://host", "/"],
    ["http://[::1", "/"],
    ["*", "*"],
    ["http:healthz", "http:healthz"],
    ["", ""],
  ];
  for (const [url, want] of cases) assert.equal(requestPath({ url }), want, String(url));
});

test("guard answers an HttpError with its status, a throw or a rejection with 500, and the server goes on", async (t) => {
  const errors: string[] = [];
  const logger = {
    error: (o: { err: Error }) => errors.push(o.err.message),
    debug: () => undefined,
    warn: () => undefined,
  } as unknown as Parameters<typeof guard>[1]["logger"]; // a fake logger that keeps the messages
  const server = http.createServer(
    serverOptions(),
    guard(
      async (req, res) => {
        if (req.url === "/throw") throw new Error("sync bug");
        if (req.url === "/reject") await Promise.reject(new Error("async bug"));
        if (req.url === "/teapot") throw new HttpError(418, "short and stout");
        if (req.url === "/body") {
          const body = await readBody(req, 10);
          res.end(`got ${body.length}`);
          return;
        }
        res.end("ok");
      },
      { name: "unit", logger },
    ),
  );
  hardenServer(server, undefined, { name: "unit", logger });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const target = { port: (server.address() as AddressInfo).port };
  const ask = (path: string, extra = "") =>
    exchange(target, `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}`);

  const thrown = await ask("/throw", "\r\n");
  assert.deepEqual(thrown.statuses, [500]);
  assert.doesNotMatch(thrown.text, /sync bug/, "the error's text stays in the log");
  assert.deepEqual((await ask("/reject", "\r\n")).statuses, [500]);
  assert.deepEqual(errors, ["sync bug", "async bug"]);
  const teapot = await ask("/teapot", "\r\n");
  assert.deepEqual(teapot.statuses, [418]);
  assert.match(teapot.text, /short and stout/);
  assert.match((await ask("/body", "Content-Length: 3\r\n\r\nabc")).text, /got 3/);
  const declared = await exchange(target, `POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n`);
  assert.deepEqual(declared.statuses, [413]);
  assert.ok(declared.closed, "a refused body is not drained: the connection closes");
  const streamed = await exchange(
    target,
    `POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n`,
  );
  assert.deepEqual(streamed.statuses, [413]);
  assert.match(streamed.text, /larger than 10 bytes/);
  assert.deepEqual((await ask("/fine", "\r\n")).statuses, [200]);
});
