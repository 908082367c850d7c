/**
 * The compiled DNS hook in a real Node process (no stack needed): net, tls, https and fetch all resolve a
 * Service name through the table, TLS verifies the certificate for that name, other names are untouched,
 * and a table written anew is read again.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { createCa, issueCert } from "../kube/pki.js";
import { buildDnsHook, withDnsHook } from "./dns-hook-build.js";

// An address of the Service range no proxy hands out early (the pool starts at 127.253.0.1).
const ADDRESS = "127.253.255.201";

const CLIENT = `
import dns from "node:dns";
import { renameSync, writeFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
const [port, name, other, table] = process.argv.slice(2);
const get = (url) => new Promise((resolve, reject) =>
  https.get(url, { agent: false }, (res) => { let b = ""; res.on("data", (d) => (b += d)); res.on("end", () => resolve(b)); }).on("error", reject));
const out = {};
out.fetch = await (await fetch(\`https://\${name}:\${port}/\`)).text();
out.https = await get(\`https://\${name}:\${port}/\`);
out.short = await get(\`https://web:\${port}/\`);
out.tls = await new Promise((resolve, reject) => {
  const s = tls.connect({ host: name, port: Number(port) }, () => { resolve(s.authorized); s.end(); });
  s.on("error", reject);
});
out.net = await new Promise((resolve, reject) => {
  const s = net.connect({ host: name, port: Number(port) }, () => { resolve(s.remoteAddress); s.destroy(); });
  s.on("error", reject);
});
out.promises = (await dns.promises.lookup(name, { all: true }))[0].address;
out.other = await dns.promises.lookup(other).then((a) => a.address, (e) => e.code);
// the runner rewrites the table (a new file renamed over the old one): this process sees it
writeFileSync(table + ".tmp", JSON.stringify({ services: { "ns/web": "127.253.255.202" } }));
renameSync(table + ".tmp", table);
out.after = (await dns.promises.lookup(name)).address;
console.log(JSON.stringify(out));
`;

test("net, tls, https and fetch resolve Service names through the hook; the table is re-read", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-dns-hook-"));
  const server = { close: () => {} } as { close: () => void };
  try {
    const ca = await createCa(dir, "ca", "hook-ca");
    const names = ["web.ns.svc", "web"];
    const cert = await issueCert(dir, "srv", ca, { commonName: names[0]!, dnsNames: names, usage: "server" });
    const srv = https.createServer(
      { cert: readFileSync(cert.cert), key: readFileSync(cert.key) },
      (req, res) => res.end(`served ${(req.socket as unknown as { servername: string }).servername}`),
    );
    server.close = () => srv.close();
    const port = await new Promise<number>((resolve) =>
      srv.listen(0, ADDRESS, () => resolve((srv.address() as { port: number }).port)),
    );
    const hookUrl = buildDnsHook(path.join(dir, "hook"));
    const table = path.join(dir, "names.json");
    const writeTable = (services: Record<string, string>) => {
      writeFileSync(`${table}.tmp`, JSON.stringify({ services }));
      renameSync(`${table}.tmp`, table);
    };
    writeTable({ "ns/web": ADDRESS });
    const script = path.join(dir, "client.mjs");
    writeFileSync(script, CLIENT);
    const run = async (name: string) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [script, String(port), name, "localhost", table],
        {
          env: {
            PATH: process.env.PATH ?? "",
            NODE_OPTIONS: withDnsHook(undefined, hookUrl),
            NODE_EXTRA_CA_CERTS: ca.cert,
            LAGSCALE_SERVICE_NAMES: table,
            LAGSCALE_POD_NAMESPACE: "ns",
          },
        },
      );
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    assert.deepEqual(await run("web.ns.svc"), {
      fetch: "served web.ns.svc",
      https: "served web.ns.svc",
      short: "served web",
      tls: true,
      net: ADDRESS,
      promises: ADDRESS,
      other: "127.0.0.1",
      after: "127.253.255.202",
    });
    // the name of a Service that is gone no longer resolves once the table says so
    writeTable({});
    await assert.rejects(run("web.ns.svc"), /ENOTFOUND|EAI_AGAIN/);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("NODE_OPTIONS: the hook goes first, once, beside what the container sets", () => {
  assert.equal(withDnsHook(undefined, "file:///h.js"), "--import=file:///h.js");
  assert.equal(
    withDnsHook("--max-old-space-size=256", "file:///h.js"),
    "--import=file:///h.js --max-old-space-size=256",
  );
  assert.equal(withDnsHook("--import=file:///h.js", "file:///h.js"), "--import=file:///h.js");
});
