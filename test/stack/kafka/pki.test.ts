/** The broker's certificates: what each one is for, and that a second stack start reuses them. */
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { CLIENT_KEY_PASSWORD, ensureKafkaPki } from "./pki.js";

const dir = mkdtempSync(path.join(tmpdir(), "lagscale-kafka-pki-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const cert = (file: string) => new X509Certificate(readFileSync(file));

test("the CA signs the server and client certificates; the expired and foreign ones fail as intended", async () => {
  const pki = await ensureKafkaPki(dir, () => undefined);
  const ca = cert(pki.ca);
  const server = cert(pki.serverCert);
  assert.ok(server.verify(ca.publicKey), "server certificate signed by the CA");
  assert.ok(server.checkHost("localhost"));
  assert.ok(server.checkIP("127.0.0.1"));
  assert.ok(cert(pki.clientCert).verify(ca.publicKey), "client certificate signed by the CA");
  const expired = cert(pki.expiredClientCert);
  assert.ok(expired.verify(ca.publicKey), "the expired certificate is the CA's own");
  assert.ok(Date.parse(expired.validTo) < Date.now(), "and has expired");
  const foreign = cert(pki.foreignClientCert);
  assert.ok(!foreign.verify(ca.publicKey), "the foreign client certificate is not the CA's");
  assert.ok(foreign.verify(cert(pki.foreignCa).publicKey));
  // The encrypted key opens with its password only.
  assert.equal(pki.clientKeyPassword, CLIENT_KEY_PASSWORD);
  const encrypted = readFileSync(pki.clientEncryptedKey, "utf8");
  assert.match(encrypted, /BEGIN ENCRYPTED PRIVATE KEY/);
  assert.doesNotThrow(() => createPrivateKey({ key: encrypted, passphrase: CLIENT_KEY_PASSWORD }));
  assert.throws(() => createPrivateKey({ key: encrypted, passphrase: "wrong" }));
  // Kafka's PEM keystore holds the key and the certificate.
  const keystore = readFileSync(pki.serverPem, "utf8");
  assert.match(keystore, /BEGIN PRIVATE KEY[\s\S]*BEGIN CERTIFICATE/);
});

test("a second start reuses the cached certificates", async () => {
  const first = await ensureKafkaPki(dir, () => undefined);
  const made = statSync(first.ca).mtimeMs;
  const lines: string[] = [];
  const second = await ensureKafkaPki(dir, (l) => lines.push(l));
  assert.deepEqual(second, first);
  assert.equal(statSync(second.ca).mtimeMs, made);
  assert.deepEqual(lines, [], "nothing was made again");
});
