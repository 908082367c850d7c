/**
 * Container program of the Services smoke test (services.test.ts): an HTTPS server on the pod IP (port 8443,
 * certificate from `--cert-dir`, a mountPath the runner translates) behind the test's Services, and a plain
 * HTTP port (8080) where the test steers it.
 *
 * HTTPS: GET /whoami → this pod's name (each answer closes its connection, so the next call is a new
 * connection the proxy places again); GET /ready → 200 or 503; POST /validate → an AdmissionReview refusing
 * the object, in this pod's name.
 * HTTP: GET /whoami → JSON of the pod's name and the paths it got; POST /unready → /ready answers 503 from now;
 * GET /call?url=U&via=fetch|https → what U answered, called from inside the pod; GET /kube → what the pod's
 * ServiceAccount may do through the in-cluster kubeconfig.
 * Env: POD_NAME, LAGSCALE_POD_IP, NODE_EXTRA_CA_CERTS (the test's CA, also through a mountPath).
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { parseArgs } from "node:util";
import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";

const { values } = parseArgs({ options: { "cert-dir": { type: "string" } }, strict: true });
const certDir = values["cert-dir"] ?? "";
const pod = process.env.POD_NAME ?? "";
const ip = process.env.LAGSCALE_POD_IP ?? "";
if (!certDir || !pod || !ip) {
  console.error("services-app needs --cert-dir, POD_NAME and LAGSCALE_POD_IP");
  process.exit(2);
}
let ready = true;

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}

function body(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString()));
    req.on("error", reject);
  });
}

function viaHttps(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent: false, timeout: 5_000 }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      })
      .on("error", reject)
      .on("timeout", function (this: http.ClientRequest) {
        this.destroy(new Error("timed out"));
      });
  });
}

async function call(url: string, via: string): Promise<unknown> {
  try {
    if (via === "https") return await viaHttps(url);
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { error: `${(err as Error).message}${cause ? `: ${cause.code ?? cause.message ?? ""}` : ""}` };
  }
}

async function kube(): Promise<unknown> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace ?? "";
  const outcome = async (f: () => Promise<unknown>) => {
    try {
      return { ok: await f() };
    } catch (err) {
      if (err instanceof ApiException) return { code: err.code, body: String(err.body) };
      return { error: (err as Error).message };
    }
  };
  return {
    kubeconfig: process.env.KUBECONFIG ?? "",
    namespace,
    configMap: await outcome(
      async () => (await core.readNamespacedConfigMap({ name: "readable", namespace })).data,
    ),
    secrets: await outcome(async () => (await core.listNamespacedSecret({ namespace })).items.length),
  };
}

const secure = https.createServer(
  {
    cert: readFileSync(path.join(certDir, "tls.crt")),
    key: readFileSync(path.join(certDir, "tls.key")),
  },
  (req, res) => {
    void (async () => {
      const url = req.url?.split("?")[0];
      res.setHeader("connection", "close");
      if (url === "/whoami") return res.end(pod);
      if (url === "/ready") {
        res.statusCode = ready ? 200 : 503;
        return res.end(ready ? "ready" : "not ready");
      }
      if (url === "/validate" && req.method === "POST") {
        const review = JSON.parse(await body(req)) as { request: { uid: string } };
        return json(res, 200, {
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: {
            uid: review.request.uid,
            allowed: false,
            status: { code: 403, reason: "Forbidden", message: `refused by ${pod}` },
          },
        });
      }
      json(res, 404, { error: `no route ${req.method} ${url}` });
    })().catch((err: unknown) => json(res, 500, { error: (err as Error).message }));
  },
);

const control = http.createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/whoami") {
      return json(res, 200, { pod, certDir, caFile: process.env.NODE_EXTRA_CA_CERTS ?? "" });
    }
    if (url.pathname === "/unready" && req.method === "POST") {
      ready = false;
      return json(res, 200, { ready });
    }
    if (url.pathname === "/call") {
      return json(res, 200, await call(url.searchParams.get("url") ?? "", url.searchParams.get("via") ?? ""));
    }
    if (url.pathname === "/kube") return json(res, 200, await kube());
    json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  })().catch((err: unknown) => json(res, 500, { error: (err as Error).message }));
});

secure.listen(8443, ip, () => console.log(`https on ${ip}:8443, certificate from ${certDir}`));
control.listen(8080, ip, () => console.log(`control on ${ip}:8080`));
process.on("SIGTERM", () => {
  secure.close();
  control.close();
  process.exit(0);
});
