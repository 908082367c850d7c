/**
 * The stack's container part, as one step: the engine (engine.ts), podman's API socket for testcontainers
 * (service.ts) and the images of this checkout (images.ts). Run when the stack comes up and again whenever it is
 * reused, so a warm run checks the images (a no-op when nothing changed) and brings a dead socket back.
 *
 * A failed image build does not fail the stack: it is recorded (imagesError) and the tests that need the images
 * fail with it, while the rest of the suite runs.
 */
import path from "node:path";
import type { ContainersInfo } from "../types.js";
import { PINNED_KAFKA_VERSION, validateVersion } from "../kafka/config.js";
import { megabytes, podman } from "./build.js";
import { parseContainersSetting, provisionEngine } from "./engine.js";
import { ensureImages } from "./images.js";
import { serviceStatus, startService, stopService } from "./service.js";

export { testcontainersEnv } from "./service.js";

export async function upContainers(o: {
  stateDir: string;
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  progress: (line: string) => void;
  /** What the running stack recorded, when it is reused. */
  previous?: ContainersInfo;
  /** Called as soon as a service runs, so that the caller records it before the (long) image builds. */
  onService?: (info: ContainersInfo) => Promise<void>;
}): Promise<ContainersInfo> {
  const off = parseContainersSetting(o.env.LAGSCALE_CONTAINERS) === "off";
  let service = o.previous?.service;
  if (service && (off || (await serviceStatus(service)) !== "ok")) {
    o.progress(
      off
        ? "LAGSCALE_CONTAINERS=off: stopping podman's API service"
        : "podman's API service is gone; restarting it",
    );
    await stopService(service).catch(() => undefined);
    service = undefined;
  }
  const engine = await provisionEngine({ cacheDir: o.cacheDir, env: o.env, progress: o.progress });
  if (!engine.usable) {
    o.progress(`no container engine: ${engine.reason}; image builds and container tests are skipped`);
    return { usable: false, reason: engine.reason };
  }
  service ??= await startService({
    stateDir: o.stateDir,
    podman: engine.podman,
    env: engine.env,
    containersConf: engine.containersConf,
    progress: o.progress,
  });
  const info: ContainersInfo = {
    usable: true,
    engine: { name: "podman", version: engine.version, installed: engine.installed },
    service,
  };
  await o.onService?.(info);

  const started = Date.now();
  try {
    const version = o.env.LAGSCALE_KAFKA_VERSION?.trim()
      ? validateVersion(o.env.LAGSCALE_KAFKA_VERSION, "LAGSCALE_KAFKA_VERSION")
      : PINNED_KAFKA_VERSION;
    info.images = await ensureImages({
      podman: { bin: engine.podman, env: engine.env },
      cacheDir: o.cacheDir,
      logDir: path.join(o.stateDir, "logs"),
      kafkaVersion: version,
      env: o.env,
      progress: o.progress,
    });
    const built = info.images.filter((i) => i.built).length;
    const total = info.images.reduce((sum, i) => sum + i.bytes, 0);
    o.progress(
      `${info.images.length} images ready in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(${built} built, ${info.images.length - built} cached; ${megabytes(total)} before shared layers)`,
    );
  } catch (err) {
    info.imagesError = err instanceof Error ? err.message : String(err);
    o.progress(
      `image builds failed (the stack runs on; tests that need the images fail): ${info.imagesError}`,
    );
  }
  return info;
}

/** Removes the containers tests started on this stack's socket and left behind, then stops the service. */
export async function downContainers(info: ContainersInfo, progress: (line: string) => void): Promise<void> {
  const s = info.service;
  if (!s) return;
  const p = { bin: "podman", env: { ...process.env, CONTAINERS_CONF: s.containersConf } };
  const left = (await podman(p, ["ps", "-aq", "--filter", `label=lagscale.socket=${s.dockerHost}`]))
    .split("\n")
    .filter(Boolean);
  if (left.length > 0) {
    progress(`removing ${left.length} container(s) left by tests: ${left.join(" ")}`);
    await podman(p, ["rm", "-f", ...left]);
  }
  await stopService(s);
}

/** "ok", or what is wrong with the recorded service (for `stack status`). */
export async function containersStatus(info: ContainersInfo): Promise<string> {
  if (!info.usable) return `not usable: ${info.reason ?? "unknown"}`;
  if (!info.service) return "no API service recorded";
  return serviceStatus(info.service);
}
