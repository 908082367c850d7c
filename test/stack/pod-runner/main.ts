/**
 * The pod runner as a process: `tsx test/stack/pod-runner/main.ts --kubeconfig F --state-dir D --node-name N
 * [--images file.json ...] [--kubelet-version v1.x.y] [--engine podman|none]`. SIGTERM/SIGINT stop every pod
 * (grace periods honoured), then exit. Without --engine, LAGSCALE_POD_RUNNER_ENGINE names the engine.
 */
import { parseArgs } from "node:util";
import { createLogger } from "../../../core/log.js";
import { describeError } from "./kube.js";
import { PodRunner } from "./runner.js";

const log = createLogger("pod-runner");

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      "state-dir": { type: "string" },
      "node-name": { type: "string" },
      images: { type: "string", multiple: true },
      "kubelet-version": { type: "string" },
      engine: { type: "string" },
    },
    strict: true,
  });
  const missing = (["kubeconfig", "state-dir", "node-name"] as const).filter((k) => !values[k]);
  if (missing.length > 0) throw new Error(`missing ${missing.map((m) => `--${m}`).join(", ")}`);
  const runner = new PodRunner({
    kubeconfig: values.kubeconfig!,
    stateDir: values["state-dir"]!,
    nodeName: values["node-name"]!,
    imageFiles: values.images ?? [],
    ...(values["kubelet-version"] ? { kubeletVersion: values["kubelet-version"] } : {}),
    ...(values.engine ? { engine: values.engine } : {}),
    log,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "signal received");
    runner.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: describeError(err) }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  await runner.start();
}

main().catch((err: unknown) => {
  log.fatal({ err: describeError(err) }, "pod runner failed to start");
  process.exit(1);
});
