/**
 * The stack's certificates, checked by real TLS handshakes (node:tls with the files `openssl` made): a server
 * certificate is valid for its names only, a client certificate carries its groups, and another CA's
 * certificates are refused. Needs no Kafka or Kubernetes.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, createServer, type Server, type TLSSocket } from "node:tls";
import { certStillValid, createCa, issueCert, type CertFiles } from "./pki.js";

const dir = mkdtempSync(path.join(tmpdir(), "lagscale-pki-"));
let ca: CertFiles;
let other: CertFiles;
let serverCert: CertFiles;
let client: CertFiles;
let strangerClient: CertFiles;
let server: Server;
let port = 0;
const seenClients: string[] = [];

function handshake(opts: { servername: string; trust: CertFiles; as?: CertFiles }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({
      host: "127.0.0.1",
      port,
      servername: opts.servername,
      ca: readFileSync(opts.trust.cert),
      ...(opts.as ? { cert: readFileSync(opts.as.cert), key: readFileSync(opts.as.key) } : {}),
    });
    socket.once("secureConnect", () => {
      socket.once("data", (d: Buffer) => {
        socket.end();
        resolve(d.toString());
      });
    });
    socket.once("error", reject);
    // With TLS 1.3 the server checks the client's certificate after the client's handshake is done; a refusal
    // then shows as the connection closing without data.
    socket.once("close", () => reject(new Error("connection closed without data")));
  });
}

describe("pki: certificates made with openssl", () => {
  before(async () => {
    ca = await createCa(dir, "ca", "test-ca");
    other = await createCa(path.join(dir, "other"), "ca", "other-ca");
    [serverCert, client, strangerClient] = await Promise.all([
      issueCert(dir, "server", ca, {
        commonName: "api",
        usage: "server",
        dnsNames: ["api.example.svc"],
        ipAddresses: ["127.0.0.1"],
      }),
      issueCert(dir, "client", ca, {
        commonName: "alice",
        organizations: ["system:masters"],
        usage: "client",
      }),
      issueCert(path.join(dir, "other"), "client", other, { commonName: "mallory", usage: "client" }),
    ]);
    server = createServer(
      {
        cert: readFileSync(serverCert.cert),
        key: readFileSync(serverCert.key),
        ca: readFileSync(ca.cert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        const peer = socket.getPeerCertificate();
        seenClients.push(`${String(peer.subject.O)}/${String(peer.subject.CN)}`);
        socket.end("hello");
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const addr = server.address();
    assert.ok(addr && typeof addr === "object");
    port = addr.port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves under its DNS name to a client that trusts the CA, and sees the client's groups", async () => {
    assert.equal(await handshake({ servername: "api.example.svc", trust: ca, as: client }), "hello");
    assert.deepEqual(seenClients, ["system:masters/alice"]);
  });

  it("is refused under a name it was not issued for, and by a client trusting another CA", async () => {
    await assert.rejects(
      handshake({ servername: "other.example.svc", trust: ca, as: client }),
      /altnames|Hostname/i,
    );
    await assert.rejects(
      handshake({ servername: "api.example.svc", trust: other, as: client }),
      /self[- ]signed|unable to (get|verify)/i,
    );
  });

  it("refuses a client certificate from another CA", async () => {
    await assert.rejects(handshake({ servername: "api.example.svc", trust: ca, as: strangerClient }));
    assert.ok(!seenClients.some((c) => c.endsWith("/mallory")));
  });

  it("marks server and client usage, and reports validity", async () => {
    const s = new X509Certificate(readFileSync(serverCert.cert));
    assert.ok(s.checkIssued(new X509Certificate(readFileSync(ca.cert))));
    assert.match(s.subjectAltName ?? "", /DNS:api\.example\.svc/);
    assert.match(s.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
    assert.equal(await certStillValid(serverCert.cert), true);
    assert.equal(
      await certStillValid(serverCert.cert, 400),
      false,
      "a one-year certificate is not valid in 400 days",
    );
    assert.equal(await certStillValid(path.join(dir, "missing.crt")), false);
  });
});
