/** The transport on a real local HTTP server; the handler is a stand-in (receiver.test.ts tests the steps). */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { REPORTS_PATH, startReportServer, type ReportServer } from "./server.js";

describe("report server", () => {
  let server: ReportServer;
  const replies: number[] = [];
  let base = "";
  before(async () => {
    server = await startReportServer({
      port: 0,
      host: "127.0.0.1",
      maxBodyBytes: 1000,
      logger: pino({ level: "silent" }),
      onReply: (s) => replies.push(s),
      handle: async (req) => {
        const body = (await req.body()).toString();
        if (body === "throw") throw new Error("boom");
        return { status: 200, body: { got: body.length } };
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  const post = (body: string, path = REPORTS_PATH) =>
    fetch(base + path, { method: "POST", body, headers: { "content-type": "application/json" } });

  it("hands the body to the handler", async () => {
    const res = await post("x".repeat(1000));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { got: 1000 });
  });
  it("413 past the body cap", async () => {
    const res = await post("x".repeat(1001));
    assert.equal(res.status, 413);
    assert.match(
      ((await res.json()) as { error: string }).error,
      /the body is 1001 bytes; the limit is 1000 bytes/,
    );
  });
  it("500 when the handler fails, and the server keeps serving", async () => {
    assert.equal((await post("throw")).status, 500);
    assert.equal((await post("ok")).status, 200);
  });
  it("404 elsewhere, 405 for other methods", async () => {
    assert.equal((await post("{}", "/v1/other")).status, 404);
    assert.equal((await fetch(base + REPORTS_PATH)).status, 405);
  });
  it("reports every answered status", () => {
    assert.deepEqual(replies, [200, 413, 500, 200, 404, 405]);
  });
});
