/** readinessProbe / livenessProbe: httpGet, tcpSocket and exec, run against the pod IP. */
import { spawn } from "node:child_process";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { V1ContainerPort, V1Probe } from "@kubernetes/client-node";

export interface ProbeContext {
  podIP: string;
  ports: V1ContainerPort[];
  /** Environment and folder of an exec probe's process (for a container: of `podman exec`). */
  env: Record<string, string> | NodeJS.ProcessEnv;
  cwd: string;
  /** Put before an exec probe's command to run it inside the container (`podman exec <name>`). */
  execPrefix?: string[];
}

export interface ProbeResult {
  ok: boolean;
  message?: string;
}

export function probePort(port: number | string | undefined, ports: V1ContainerPort[]): number {
  if (typeof port === "number") return port;
  if (port === undefined || port === "") throw new Error("probe has no port");
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  if (!named) throw new Error(`probe port ${JSON.stringify(port)} names no port of the container`);
  return named.containerPort;
}

function httpProbe(
  probe: NonNullable<V1Probe["httpGet"]>,
  ctx: ProbeContext,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = probePort(probe.port as number | string, ctx.ports);
  const secure = (probe.scheme ?? "HTTP").toUpperCase() === "HTTPS";
  const headers: Record<string, string> = { "User-Agent": "kube-probe/lagscale-pod-runner" };
  for (const h of probe.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = (secure ? https : http).request(
      {
        host: probe.host || ctx.podIP,
        port,
        path: probe.path || "/",
        method: "GET",
        headers,
        timeout: timeoutMs,
        ...(secure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(
          code >= 200 && code < 400
            ? { ok: true }
            : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", (err) => resolve({ ok: false, message: `Get ${probe.path || "/"}: ${err.message}` }));
    req.end();
  });
}

function tcpProbe(
  probe: NonNullable<V1Probe["tcpSocket"]>,
  ctx: ProbeContext,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = probePort(probe.port as number | string, ctx.ports);
  return new Promise((resolve) => {
    const sock = net.connect({ host: probe.host || ctx.podIP, port });
    const timer = setTimeout(() => sock.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ok: true });
    });
    sock.once("error", (err) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `dial tcp ${probe.host || ctx.podIP}:${port}: ${err.message}` });
    });
  });
}

function execProbe(
  probe: NonNullable<V1Probe["exec"]>,
  ctx: ProbeContext,
  timeoutMs: number,
): Promise<ProbeResult> {
  if (!probe.command?.length) return Promise.resolve({ ok: false, message: "exec probe has no command" });
  const [bin, ...args] = [...(ctx.execPrefix ?? []), ...probe.command] as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(bin, args, {
      cwd: ctx.cwd,
      env: ctx.env,
      stdio: "ignore",
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    child.once("error", (err) => resolve({ ok: false, message: `exec probe: ${err.message}` }));
    child.once("exit", (code, signal) =>
      resolve(code === 0 ? { ok: true } : { ok: false, message: `exec probe ended with ${code ?? signal}` }),
    );
  });
}

export async function runProbe(probe: V1Probe, ctx: ProbeContext): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) return await httpProbe(probe.httpGet, ctx, timeoutMs);
    if (probe.tcpSocket) return await tcpProbe(probe.tcpSocket, ctx, timeoutMs);
    if (probe.exec) return await execProbe(probe.exec, ctx, timeoutMs);
    return {
      ok: false,
      message: "probe kind not supported by the pod runner (httpGet, tcpSocket, exec are)",
    };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

/**
 * Runs a probe every periodSeconds after initialDelaySeconds and reports the result when it flips after
 * successThreshold successes or failureThreshold failures in a row (Kubernetes' semantics).
 */
export class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;

  constructor(
    private readonly probe: V1Probe,
    private readonly ctx: ProbeContext,
    private state: boolean,
    private readonly onChange: (ok: boolean, message?: string) => void,
  ) {}

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const result = await runProbe(this.probe, this.ctx);
    if (this.stopped) return;
    if (result.ok) {
      this.successes++;
      this.failures = 0;
      if (!this.state && this.successes >= (this.probe.successThreshold ?? 1)) {
        this.state = true;
        this.onChange(true);
      }
    } else {
      this.failures++;
      this.successes = 0;
      if (this.state && this.failures >= (this.probe.failureThreshold ?? 3)) {
        this.state = false;
        this.onChange(false, result.message);
      }
    }
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }
}
