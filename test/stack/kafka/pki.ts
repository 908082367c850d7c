/**
 * Certificates for the local broker's secured listeners, made with the stack's PKI helper (kube/pki.ts) and
 * cached in the state folder (`<stateDir>/kafka-pki/`, outside the broker's home, which each start wipes), so
 * that a restarted stack does not pay for them again. What is made:
 *
 *   ca            the broker's CA: signs the server certificate and the client certificates it trusts
 *   server        the broker's certificate for localhost, 127.0.0.1 and ::1 (+ server.pem for Kafka's keystore)
 *   client        a client certificate the mTLS listener accepts; client-encrypted.key is its key under a password
 *   expired       a client certificate signed by `ca` whose validity ended a day before it was made
 *   foreign-ca    a CA the broker does not know, and foreign-client, a client certificate it signed
 *
 * Test material for a throwaway broker on loopback; none of it is a secret.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { KafkaPki } from "../types.js";
import { certStillValid, createCa, issueCert } from "../kube/pki.js";

const run = promisify(execFile);

/** The password of client-encrypted.key (KEDA's `keyPassword`). */
export const CLIENT_KEY_PASSWORD = "lagscale-key-password";

/** Bumped when the set of files changes, so that an older cache is made again. */
const LAYOUT_VERSION = "1";

function files(dir: string): KafkaPki {
  const f = (name: string) => path.join(dir, name);
  return {
    dir,
    ca: f("ca.crt"),
    serverCert: f("server.crt"),
    serverPem: f("server.pem"),
    clientCert: f("client.crt"),
    clientKey: f("client.key"),
    clientEncryptedKey: f("client-encrypted.key"),
    clientKeyPassword: CLIENT_KEY_PASSWORD,
    expiredClientCert: f("expired.crt"),
    expiredClientKey: f("expired.key"),
    foreignCa: f("foreign-ca.crt"),
    foreignClientCert: f("foreign-client.crt"),
    foreignClientKey: f("foreign-client.key"),
  };
}

/** True when every file is there and the certificates that must be valid stay so for a week. */
async function cacheUsable(pki: KafkaPki): Promise<boolean> {
  const marker = path.join(pki.dir, "layout");
  if (!existsSync(marker) || readFileSync(marker, "utf8").trim() !== LAYOUT_VERSION) return false;
  const all = Object.entries(pki)
    .filter(([k, v]) => k !== "dir" && k !== "clientKeyPassword" && typeof v === "string")
    .map(([, v]) => v as string);
  if (!all.every((f) => existsSync(f))) return false;
  for (const cert of [pki.ca, pki.serverCert, pki.clientCert, pki.foreignCa, pki.foreignClientCert]) {
    if (!(await certStillValid(cert))) return false;
  }
  return true;
}

/** The broker's certificates in `<stateDir>/kafka-pki`, made when missing or about to expire. */
export async function ensureKafkaPki(stateDir: string, progress: (line: string) => void): Promise<KafkaPki> {
  const pki = files(path.join(stateDir, "kafka-pki"));
  if (await cacheUsable(pki)) return pki;
  progress(`making certificates for the secured Kafka listeners in ${pki.dir}`);
  await rm(pki.dir, { recursive: true, force: true });
  await mkdir(pki.dir, { recursive: true });
  const d = pki.dir;
  const ca = await createCa(d, "ca", "lagscale local Kafka CA");
  const server = await issueCert(d, "server", ca, {
    commonName: "localhost",
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
    usage: "server",
    days: 825,
  });
  // Kafka's PEM keystore takes the key and the certificate chain in one file.
  await writeFile(
    pki.serverPem,
    (await readFile(server.key, "utf8")) + (await readFile(server.cert, "utf8")),
    { mode: 0o600 },
  );
  await issueCert(d, "client", ca, { commonName: "lagscale-client", usage: "client", days: 825 });
  await openssl([
    "pkcs8",
    "-topk8",
    "-in",
    pki.clientKey,
    "-out",
    pki.clientEncryptedKey,
    "-v2",
    "aes-256-cbc",
    "-passout",
    `pass:${CLIENT_KEY_PASSWORD}`,
  ]);
  // openssl takes a negative day count: valid from now, expired since yesterday.
  await issueCert(d, "expired", ca, { commonName: "lagscale-expired", usage: "client", days: -1 });
  const foreign = await createCa(d, "foreign-ca", "a CA the local Kafka does not trust");
  await issueCert(d, "foreign-client", foreign, {
    commonName: "lagscale-foreign",
    usage: "client",
    days: 825,
  });
  for (const key of ["ca.key", "foreign-ca.key", "server.key"]) await rm(path.join(d, key), { force: true });
  await writeFile(path.join(d, "layout"), LAYOUT_VERSION + "\n");
  return pki;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0] ?? ""} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}
