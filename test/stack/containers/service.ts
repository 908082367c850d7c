/**
 * Podman's Docker-compatible API socket for testcontainers: `podman system service --time=0
 * unix://<stateDir>/podman.sock`, started detached with the stack (so it outlives `stack up`), recorded in
 * stack.json, and stopped with it. The env that points testcontainers at it is `testcontainersEnv`.
 */
import { existsSync, rmSync } from "node:fs";
import { request } from "node:http";
import path from "node:path";
import type { ContainerService } from "../types.js";
import { isAlive, sleep, spawnDetached, stopProcess, tail } from "../process.js";

const READY_TIMEOUT_MS = 30_000;

/** GET /_ping on the socket: "ok", or why not. */
export function pingSocket(socket: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: "/_ping", method: "GET", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? "ok" : `HTTP ${res.statusCode ?? "?"}`);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", (err) => resolve(err.message));
    req.end();
  });
}

export async function startService(o: {
  stateDir: string;
  podman: string;
  env: NodeJS.ProcessEnv;
  containersConf: string;
  progress: (line: string) => void;
}): Promise<ContainerService> {
  const socket = path.join(o.stateDir, "podman.sock");
  const logFile = path.join(o.stateDir, "logs", "podman-service.log");
  // a socket file left by a service that died would make the new one fail to bind
  if (existsSync(socket)) rmSync(socket, { force: true });
  const uri = `unix://${socket}`;
  const child = spawnDetached(o.podman, ["system", "service", "--time=0", uri], logFile, { env: o.env });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = "not started";
  while (Date.now() < deadline) {
    const exited = child.exited();
    if (exited) {
      throw new Error(
        `podman system service exited (code ${exited.code}, signal ${exited.signal}):\n${tail(logFile, 20)}`,
      );
    }
    if (existsSync(socket)) {
      last = await pingSocket(socket);
      if (last === "ok") break;
    }
    await sleep(100);
  }
  if (last !== "ok") {
    await stopProcess(child.pid, socket, 5000).catch(() => undefined);
    throw new Error(`podman's API socket ${socket} did not answer in ${READY_TIMEOUT_MS / 1000} s (${last})`);
  }
  o.progress(`podman API on ${uri} (pid ${child.pid}, log ${logFile})`);
  return { pid: child.pid, socket, dockerHost: uri, containersConf: o.containersConf, logFile };
}

/** Whether the recorded service is ours and answers. */
export async function serviceStatus(s: ContainerService): Promise<string> {
  if (!isAlive(s.pid, s.socket)) return `pid ${s.pid} not running`;
  return pingSocket(s.socket);
}

export async function stopService(s: ContainerService): Promise<void> {
  await stopProcess(s.pid, s.socket, 10_000);
  rmSync(s.socket, { force: true });
}

/** What testcontainers needs to reach the service: its socket, no Ryuk (its image cannot be pulled here). */
export function testcontainersEnv(s: ContainerService): Record<string, string> {
  return {
    DOCKER_HOST: s.dockerHost,
    TESTCONTAINERS_RYUK_DISABLED: "true",
    CONTAINERS_CONF: s.containersConf,
  };
}
