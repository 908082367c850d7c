/**
 * The local Kubernetes control plane: real etcd, kube-apiserver and kube-controller-manager, built once from the
 * Go module proxy into the cache folder, started as detached processes on free loopback ports with their data
 * and logs in the stack's state folder. With LAGSCALE_TEST_KUBECONFIG set, that cluster is used instead and
 * nothing is started.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { access, constants, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import type { KubeInfo } from "../types.js";
import { certStillValid, createCa, createSigningKey, issueCert, type CertFiles } from "./pki.js";
import { acquireLock, freePorts, isAlive, sleep, spawnDetached, stopProcess, tail } from "../process.js";

/**
 * The pinned versions. Kubernetes v1.36.3: the newest patch of the newest minor line that has had several
 * patch releases (v1.37 was at .2 when chosen); KEDA users run n-1/n-2 clusters, and v1.36 is what most of
 * them meet next. etcd v3.6.16: v1.36's own go.mod and kubeadm pin etcd 3.6 (3.6.8); 3.6.16 is that line's
 * newest patch. etcd 3.7 is not yet the line Kubernetes is tested against.
 */
export const KUBE_VERSIONS = { kubernetes: "v1.36.3", etcd: "v3.6.16" } as const;

/** kube-controller-manager's consistency gates (beta in 1.36), turned off on the local stack (see below). */
const STALE_CONTROLLER_GATES = [
  "StaleControllerConsistencyReplicaSet",
  "StaleControllerConsistencyJob",
  "StaleControllerConsistencyStatefulSet",
  "StaleControllerConsistencyDaemonSet",
];

const BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager", "kubectl"] as const;
const here = path.dirname(fileURLToPath(import.meta.url));
const SERVICE_CIDR = "10.96.0.0/16";
const SA_ISSUER = "https://kubernetes.default.svc.cluster.local";
const READY_TIMEOUT_MS = 180_000;

export interface ControlPlaneOptions {
  stateDir: string;
  cacheDir: string;
  progress: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** What stack.json records in `kube.handle` for a local control plane. */
export interface LocalKubeHandle {
  pids: { etcd: number; apiserver: number; controllerManager: number };
  ports: { etcd: number; etcdPeer: number; apiserver: number; controllerManager: number };
  binDir: string;
  dir: string;
  logs: { etcd: string; apiserver: string; controllerManager: string };
  pki: { ca: string; adminCert: string; adminKey: string };
}

type Progress = (line: string) => void;

/** Folder of the control-plane binaries for the pinned versions. */
export function kubeBinDir(cacheDir: string): string {
  return path.join(cacheDir, `kube-${KUBE_VERSIONS.kubernetes}-etcd-${KUBE_VERSIONS.etcd}`, "bin");
}

async function haveBinaries(bin: string): Promise<boolean> {
  for (const name of BINARIES) {
    try {
      await access(path.join(bin, name), constants.X_OK);
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Builds etcd, kube-apiserver, kube-controller-manager and kubectl into the cache unless they are there. Only one
 * build runs per cache folder at a time (others wait for it). Returns the bin folder and whether it built.
 */
export async function ensureBinaries(
  cacheDir: string,
  progress: Progress,
): Promise<{ bin: string; built: boolean }> {
  const bin = kubeBinDir(cacheDir);
  if (await haveBinaries(bin)) return { bin, built: false };
  const out = path.dirname(bin);
  await mkdir(out, { recursive: true });
  const release = await acquireLock(
    path.join(out, "build.lock"),
    progress,
    "another process is building the control plane",
  );
  try {
    if (await haveBinaries(bin)) return { bin, built: false };
    const log = path.join(out, "build.log");
    progress(
      `building Kubernetes ${KUBE_VERSIONS.kubernetes} and etcd ${KUBE_VERSIONS.etcd} from the Go module proxy into ` +
        `${out} (first run only; about 10-20 minutes on 2 cores; log: ${log})`,
    );
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        "bash",
        [path.join(here, "build-control-plane.sh"), KUBE_VERSIONS.kubernetes, KUBE_VERSIONS.etcd, out],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const chunks: string[] = [];
      const onData = (buf: Buffer) => {
        const text = buf.toString();
        chunks.push(text);
        writeFileSync(log, text, { flag: "a" });
        for (const line of text.split("\n")) if (line.trim() && !line.startsWith("/")) progress(line.trim());
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      const beat = setInterval(
        () => progress(`still building the control plane (${Math.round((Date.now() - started) / 1000)} s)`),
        30_000,
      );
      child.on("error", (err) => {
        clearInterval(beat);
        reject(new Error(`could not run the control-plane build (bash): ${err.message}`));
      });
      child.on("exit", (code) => {
        clearInterval(beat);
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `building the control plane failed (exit ${code}); it needs Go and the Go module proxy. ` +
                `Last output:\n${chunks.join("").split("\n").slice(-30).join("\n")}\nFull log: ${log}`,
            ),
          );
      });
    });
    if (!(await haveBinaries(bin)))
      throw new Error(`the control-plane build finished but ${bin} lacks binaries`);
    progress(`built the control plane in ${Math.round((Date.now() - started) / 1000)} s`);
    return { bin, built: true };
  } finally {
    release();
  }
}

interface Pki {
  ca: CertFiles;
  apiserver: CertFiles;
  admin: CertFiles;
  controllerManager: CertFiles;
  frontProxy: CertFiles;
  sa: { key: string; pub: string };
}

/** The cluster's certificates, made once per state folder and reused while valid. */
async function ensurePki(dir: string): Promise<Pki> {
  const f = (name: string): CertFiles => ({
    cert: path.join(dir, `${name}.crt`),
    key: path.join(dir, `${name}.key`),
  });
  const want: Pki = {
    ca: f("ca"),
    apiserver: f("apiserver"),
    admin: f("admin"),
    controllerManager: f("controller-manager"),
    frontProxy: f("front-proxy-client"),
    sa: { key: path.join(dir, "sa.key"), pub: path.join(dir, "sa.pub") },
  };
  const certs = [want.ca, want.apiserver, want.admin, want.controllerManager, want.frontProxy];
  const valid = await Promise.all(certs.map((c) => certStillValid(c.cert)));
  if (
    valid.every(Boolean) &&
    certs.every((c) => existsSync(c.key)) &&
    existsSync(want.sa.key) &&
    existsSync(want.sa.pub)
  ) {
    return want;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await createCa(dir, "ca", "lagscale-local-ca");
  const [apiserver, admin, controllerManager, frontProxy, sa] = await Promise.all([
    issueCert(dir, "apiserver", ca, {
      commonName: "kube-apiserver",
      usage: "server",
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ],
      ipAddresses: ["127.0.0.1", "10.96.0.1"],
    }),
    issueCert(dir, "admin", ca, {
      commonName: "lagscale-admin",
      organizations: ["system:masters"],
      usage: "client",
    }),
    issueCert(dir, "controller-manager", ca, {
      commonName: "system:kube-controller-manager",
      usage: "client",
    }),
    issueCert(dir, "front-proxy-client", ca, { commonName: "front-proxy-client", usage: "client" }),
    createSigningKey(dir, "sa"),
  ]);
  return { ca, apiserver, admin, controllerManager, frontProxy, sa };
}

async function writeKubeconfig(
  file: string,
  server: string,
  caFile: string,
  client: CertFiles,
  user: string,
): Promise<void> {
  const b64 = async (p: string) => (await readFile(p)).toString("base64");
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "lagscale", cluster: { server, "certificate-authority-data": await b64(caFile) } }],
    users: [
      {
        name: user,
        user: { "client-certificate-data": await b64(client.cert), "client-key-data": await b64(client.key) },
      },
    ],
    contexts: [{ name: "lagscale", context: { cluster: "lagscale", user, namespace: "default" } }],
    "current-context": "lagscale",
  };
  await writeFile(file, stringify(doc), { mode: 0o600 });
}

interface TlsClient {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
}

/** One GET, resolving with status and body (never rejecting on HTTP status). */
export function get(
  url: string,
  tls: TlsClient = {},
  timeoutMs = 5_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const opts = {
      method: "GET",
      timeout: timeoutMs,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: !tls.insecure,
    };
    const req = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  procs: { name: string; proc: ReturnType<typeof spawnDetached>; log: string }[],
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    for (const p of procs) {
      const exit = p.proc.exited();
      if (exit) {
        throw new Error(
          `${p.name} exited (code ${exit.code}, signal ${exit.signal}) while waiting for ${what}. ` +
            `Last lines of ${p.log}:\n${tail(p.log)}`,
        );
      }
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      const logs = procs.map((p) => `--- ${p.log}\n${tail(p.log, 10)}`).join("\n");
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (${lastError})\n${logs}`);
    }
    await sleep(250);
  }
}

/** Starts the local control plane (or describes the external one), waiting until it serves and has its `default` ServiceAccount. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<KubeInfo> {
  const env = opts.env ?? process.env;
  const external = env.LAGSCALE_TEST_KUBECONFIG?.trim();
  if (external) return externalCluster(path.resolve(external), opts.progress);

  const { bin } = await ensureBinaries(opts.cacheDir, opts.progress);
  const dir = path.join(opts.stateDir, "kube");
  const logDir = path.join(opts.stateDir, "logs");
  await mkdir(logDir, { recursive: true });
  // A fresh cluster on every start: stale Nodes and pods from an earlier run would only confuse the tests.
  await rm(path.join(dir, "etcd"), { recursive: true, force: true });
  await mkdir(path.join(dir, "etcd"), { recursive: true, mode: 0o700 });
  const pki = await ensurePki(path.join(dir, "pki"));
  const [etcdPort, etcdPeerPort, apiPort, kcmPort] = (await freePorts(4)) as [number, number, number, number];
  const logs = {
    etcd: path.join(logDir, "etcd.log"),
    apiserver: path.join(logDir, "kube-apiserver.log"),
    controllerManager: path.join(logDir, "kube-controller-manager.log"),
  };
  for (const log of Object.values(logs)) await writeFile(log, "");
  const started: { name: string; proc: ReturnType<typeof spawnDetached>; log: string; bin: string }[] = [];
  const cleanup = async () => {
    // best effort: the error that brought us here is the one to report
    for (const p of started.reverse()) await stopProcess(p.proc.pid, p.bin, 5_000).catch(() => undefined);
  };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    opts.progress(`starting etcd ${KUBE_VERSIONS.etcd} on ${etcdUrl}`);
    const etcd = spawnDetached(
      path.join(bin, "etcd"),
      [
        "--name=lagscale",
        `--data-dir=${path.join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=lagscale=${peerUrl}`,
        "--initial-cluster-state=new",
        // A throwaway test cluster: losing its data on a machine crash is fine, waiting for fsync is not.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      logs.etcd,
    );
    started.push({ name: "etcd", proc: etcd, log: logs.etcd, bin: "etcd" });
    await waitFor(
      "etcd /health",
      async () => (await get(`${etcdUrl}/health`)).body.includes('"health":"true"'),
      started,
      60_000,
    );

    const server = `https://127.0.0.1:${apiPort}`;
    opts.progress(`starting kube-apiserver ${KUBE_VERSIONS.kubernetes} on ${server}`);
    const apiserver = spawnDetached(
      path.join(bin, "kube-apiserver"),
      [
        `--etcd-servers=${etcdUrl}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--secure-port=${apiPort}`,
        `--tls-cert-file=${pki.apiserver.cert}`,
        `--tls-private-key-file=${pki.apiserver.key}`,
        `--client-ca-file=${pki.ca.cert}`,
        `--service-account-issuer=${SA_ISSUER}`,
        `--service-account-key-file=${pki.sa.pub}`,
        `--service-account-signing-key-file=${pki.sa.key}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        "--authorization-mode=RBAC",
        // Added to the defaults (which already hold them in v1.36); named so that nobody removes them by accident.
        "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
        // No kube-proxy: webhook and aggregated-API Services are reached through their EndpointSlices.
        "--enable-aggregator-routing=true",
        // How the API server authenticates to aggregated API servers (and they trust it): the front-proxy pair.
        `--requestheader-client-ca-file=${pki.ca.cert}`,
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        `--proxy-client-cert-file=${pki.frontProxy.cert}`,
        `--proxy-client-key-file=${pki.frontProxy.key}`,
        // The API server listens on loopback only, and Endpoints/EndpointSlices refuse loopback addresses, so the
        // `kubernetes` Service gets no endpoints instead of a reconcile error every 10 s. Processes of the pod
        // runner need KUBERNETES_SERVICE_HOST/PORT set to the real listener (the kubeconfig's server) instead.
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--profiling=false",
        `--cert-dir=${path.join(dir, "apiserver-certs")}`,
      ],
      logs.apiserver,
    );
    started.push({ name: "kube-apiserver", proc: apiserver, log: logs.apiserver, bin: "kube-apiserver" });
    const tls = {
      ca: await readFile(pki.ca.cert),
      cert: await readFile(pki.admin.cert),
      key: await readFile(pki.admin.key),
    };
    await waitFor(
      "kube-apiserver /readyz",
      async () => (await get(`${server}/readyz`, tls)).status === 200,
      started,
    );

    const kubeconfig = path.join(opts.stateDir, "kubeconfig");
    const kcmKubeconfig = path.join(dir, "controller-manager.kubeconfig");
    await writeKubeconfig(kubeconfig, server, pki.ca.cert, pki.admin, "lagscale-admin");
    await writeKubeconfig(
      kcmKubeconfig,
      server,
      pki.ca.cert,
      pki.controllerManager,
      "system:kube-controller-manager",
    );

    opts.progress("starting kube-controller-manager");
    const kcm = spawnDetached(
      path.join(bin, "kube-controller-manager"),
      [
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        `--cert-dir=${path.join(dir, "controller-manager-certs")}`,
        `--service-account-private-key-file=${pki.sa.key}`,
        `--root-ca-file=${pki.ca.cert}`,
        "--use-service-account-credentials=true",
        `--cluster-signing-cert-file=${pki.ca.cert}`,
        `--cluster-signing-key-file=${pki.ca.key}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        // Pod IPs are loopback addresses, which EndpointSlices and Endpoints refuse: these two controllers
        // would retry every Service with a selector forever. The pod runner's Service proxy publishes them.
        "--controllers=*,-endpointslice-controller,-endpoints-controller",
        // 1.36's stale-controller checks hold a ReplicaSet, Job, StatefulSet or DaemonSet sync until the
        // controller's informer has seen its own last write; on a loaded 2-core machine that held ReplicaSets
        // for minutes ("read version ... is not as new as written version"), so pods came minutes late.
        `--feature-gates=${STALE_CONTROLLER_GATES.map((g) => `${g}=false`).join(",")}`,
        // The default 20 requests/s (burst 30) let a bench's 1,000 Deployments hold every test's ReplicaSets
        // and pods back for minutes; the stack's API server has room for more.
        "--kube-api-qps=200",
        "--kube-api-burst=400",
        "--leader-elect=false",
        "--profiling=false",
      ],
      logs.controllerManager,
    );
    started.push({
      name: "kube-controller-manager",
      proc: kcm,
      log: logs.controllerManager,
      bin: "kube-controller-manager",
    });
    await waitFor(
      "kube-controller-manager /healthz",
      async () => (await get(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true })).status === 200,
      started,
    );
    await waitFor(
      "the `default` ServiceAccount in namespace default (made by the serviceaccount controller)",
      async () =>
        (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls)).status === 200,
      started,
    );

    const handle: LocalKubeHandle = {
      pids: { etcd: etcd.pid, apiserver: apiserver.pid, controllerManager: kcm.pid },
      ports: { etcd: etcdPort, etcdPeer: etcdPeerPort, apiserver: apiPort, controllerManager: kcmPort },
      binDir: bin,
      dir,
      logs,
      pki: { ca: pki.ca.cert, adminCert: pki.admin.cert, adminKey: pki.admin.key },
    };
    return {
      kind: "local",
      version: KUBE_VERSIONS.kubernetes,
      kubeconfig,
      server,
      handle: handle as unknown as Record<string, unknown>,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function externalCluster(kubeconfig: string, progress: Progress): Promise<KubeInfo> {
  if (!existsSync(kubeconfig)) {
    throw new Error(`LAGSCALE_TEST_KUBECONFIG points at ${kubeconfig}, which does not exist`);
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(kubeconfig);
  } catch (err) {
    throw new Error(
      `LAGSCALE_TEST_KUBECONFIG (${kubeconfig}) is not a readable kubeconfig: ${(err as Error).message}`,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new Error(`LAGSCALE_TEST_KUBECONFIG (${kubeconfig}) has no current context with a cluster`);
  progress(`using the cluster of LAGSCALE_TEST_KUBECONFIG: ${cluster.server}`);
  const { VersionApi } = await import("@kubernetes/client-node");
  let version: string;
  try {
    version = (await kc.makeApiClient(VersionApi).getCode()).gitVersion;
  } catch (err) {
    throw new Error(
      `the cluster of LAGSCALE_TEST_KUBECONFIG (${cluster.server}) does not answer: ${(err as Error).message}`,
    );
  }
  return { kind: "external", version, kubeconfig, server: cluster.server, handle: {} };
}

function localHandle(info: KubeInfo): LocalKubeHandle | undefined {
  if (info.kind !== "local") return undefined;
  const h = info.handle as Partial<LocalKubeHandle>;
  if (!h.pids || !h.ports || !h.pki)
    throw new Error("stack.json: kube.handle lacks pids/ports/pki; run `npm run stack -- down`");
  return h as LocalKubeHandle;
}

/** Stops the local control plane's processes (controller manager, API server, etcd); parts already dead are fine. */
export async function stopControlPlane(info: KubeInfo): Promise<void> {
  const h = localHandle(info);
  if (!h) return;
  const errors: string[] = [];
  for (const [pid, name] of [
    [h.pids.controllerManager, "kube-controller-manager"],
    [h.pids.apiserver, "kube-apiserver"],
    [h.pids.etcd, "etcd"],
  ] as const) {
    // one that cannot be stopped must not keep the others running
    await stopProcess(pid, name).catch((err: unknown) => errors.push(`${name}: ${(err as Error).message}`));
  }
  if (errors.length > 0) throw new Error(errors.join("; "));
}

export interface ControlPlaneStatus {
  processes: Record<string, boolean>;
  /** "ok", or why /readyz is not. */
  readyz: string;
  healthy: boolean;
}

/** Which processes live and whether the API server answers /readyz. */
export async function controlPlaneStatus(info: KubeInfo): Promise<ControlPlaneStatus> {
  const h = localHandle(info);
  const processes: Record<string, boolean> = {};
  let readyz: string;
  if (h) {
    processes.etcd = isAlive(h.pids.etcd, "etcd");
    processes["kube-apiserver"] = isAlive(h.pids.apiserver, "kube-apiserver");
    processes["kube-controller-manager"] = isAlive(h.pids.controllerManager, "kube-controller-manager");
    try {
      const tls = {
        ca: await readFile(h.pki.ca),
        cert: await readFile(h.pki.adminCert),
        key: await readFile(h.pki.adminKey),
      };
      const res = await get(`${info.server}/readyz`, tls, 3_000);
      readyz =
        res.status === 200 ? "ok" : `HTTP ${res.status}: ${res.body.trim().split("\n").slice(-3).join("; ")}`;
    } catch (err) {
      readyz = (err as Error).message;
    }
  } else {
    try {
      const kc = new KubeConfig();
      kc.loadFromFile(info.kubeconfig);
      const { VersionApi } = await import("@kubernetes/client-node");
      await kc.makeApiClient(VersionApi).getCode();
      readyz = "ok";
    } catch (err) {
      readyz = (err as Error).message;
    }
  }
  return { processes, readyz, healthy: readyz === "ok" && Object.values(processes).every(Boolean) };
}

/**
 * Control-plane processes of this state folder that no stack.json records, e.g. left by an `up` that was
 * interrupted: found by their own command line, which names `<stateDir>/kube/` (data and cert folders).
 */
export function strayControlPlanePids(stateDir: string): { pid: number; name: string }[] {
  const marker = `${path.join(stateDir, "kube")}${path.sep}`;
  const found: { pid: number; name: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    const [exe] = cmd.split("\0");
    const name = path.basename(exe ?? "");
    if (["etcd", "kube-apiserver", "kube-controller-manager"].includes(name) && cmd.includes(marker)) {
      found.push({ pid, name });
    }
  }
  return found;
}

/** Stops control-plane processes of this state folder that no stack.json records. */
export async function stopStrayControlPlane(stateDir: string, progress: Progress): Promise<void> {
  const order = ["kube-controller-manager", "kube-apiserver", "etcd"];
  const stray = strayControlPlanePids(stateDir).sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const errors: string[] = [];
  for (const p of stray) {
    progress(`stopping ${p.name} (pid ${p.pid}) left from an earlier run`);
    await stopProcess(p.pid, p.name).catch((err: unknown) =>
      errors.push(`${p.name}: ${(err as Error).message}`),
    );
  }
  if (errors.length > 0) throw new Error(errors.join("; "));
}
