/**
 * Certificates for the local control plane and for test servers (webhooks), made with the `openssl` CLI:
 * Node can parse X.509 but not issue it, and this keeps the stack free of a certificate dependency.
 * Keys are ECDSA P-256 (fast to generate); the service-account signing key is RSA (node:crypto).
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CertFiles {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** Subject common name, e.g. a user name for client certificates. */
  commonName: string;
  /** Subject organizations: Kubernetes groups for client certificates. */
  organizations?: string[];
  /** DNS names and IP addresses the certificate is valid for (server certificates). */
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: "server" | "client" | "both";
  days?: number;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: string };
    if (e.code === "ENOENT") {
      throw new Error(
        "the `openssl` command is needed to make the local stack's certificates: install openssl",
      );
    }
    throw new Error(`openssl ${args[0] ?? ""} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function subject(commonName: string, organizations: string[] = []): string {
  const esc = (s: string) => s.replace(/[/\\=+,]/g, (c) => `\\${c}`);
  return organizations.map((o) => `/O=${esc(o)}`).join("") + `/CN=${esc(commonName)}`;
}

/** A self-signed CA certificate and key as `<dir>/<name>.crt` and `<dir>/<name>.key`. */
export async function createCa(dir: string, name: string, commonName: string): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    files.key,
    "-out",
    files.cert,
    "-days",
    "3650",
    "-subj",
    subject(commonName),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  return files;
}

/** A certificate signed by `ca`, as `<dir>/<name>.crt` and `<dir>/<name>.key`. */
export async function issueCert(
  dir: string,
  name: string,
  ca: CertFiles,
  opts: IssueOptions,
): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  const eku = { server: "serverAuth", client: "clientAuth", both: "serverAuth,clientAuth" }[opts.usage];
  const sans = [
    ...(opts.dnsNames ?? []).map((d) => `DNS:${d}`),
    ...(opts.ipAddresses ?? []).map((ip) => `IP:${ip}`),
  ];
  const lines = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${eku}`,
  ];
  if (sans.length > 0) lines.push(`subjectAltName=${sans.join(",")}`);
  await writeFile(ext, lines.join("\n") + "\n");
  await openssl([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    files.key,
    "-out",
    csr,
    "-subj",
    subject(opts.commonName, opts.organizations),
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-set_serial",
    `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
    "-days",
    String(opts.days ?? 365),
    "-extfile",
    ext,
    "-out",
    files.cert,
  ]);
  await rm(csr, { force: true });
  await rm(ext, { force: true });
  return files;
}

/** An RSA key pair for signing service-account tokens: `<dir>/<name>.key` (PKCS#8) and `<dir>/<name>.pub`. */
export async function createSigningKey(dir: string, name: string): Promise<{ key: string; pub: string }> {
  await mkdir(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const files = { key: path.join(dir, `${name}.key`), pub: path.join(dir, `${name}.pub`) };
  await writeFile(files.key, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  await writeFile(files.pub, publicKey.export({ type: "spki", format: "pem" }));
  return files;
}

/** True when the certificate file exists and stays valid for at least `marginDays` more days. */
export async function certStillValid(file: string, marginDays = 7): Promise<boolean> {
  if (!existsSync(file)) return false;
  try {
    const cert = new X509Certificate(await readFile(file));
    return Date.parse(cert.validTo) - Date.now() > marginDays * 86_400_000;
  } catch {
    return false;
  }
}
