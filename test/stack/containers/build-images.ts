/**
 * `bash scripts/build-images.sh`: the test command's image builds by hand (engine provisioned as for the stack,
 * no API socket), then a table of the images and their sizes. Exit 1 with the reason when no engine is usable.
 */
import path from "node:path";
import { PINNED_KAFKA_VERSION } from "../kafka/config.js";
import { cacheDir, stateDir } from "../paths.js";
import { megabytes } from "./build.js";
import { provisionEngine } from "./engine.js";
import { ensureImages } from "./images.js";

const progress = (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);

async function main(): Promise<number> {
  const started = Date.now();
  const cache = cacheDir();
  const engine = await provisionEngine({ cacheDir: cache, progress });
  if (!engine.usable) {
    console.error(`no container engine: ${engine.reason}`);
    return 1;
  }
  const images = await ensureImages({
    podman: { bin: engine.podman, env: engine.env },
    cacheDir: cache,
    logDir: path.join(stateDir(), "logs"),
    kafkaVersion: process.env.LAGSCALE_KAFKA_VERSION?.trim() || PINNED_KAFKA_VERSION,
    progress,
  });
  for (const i of images) {
    console.log(
      `${i.name.padEnd(34)} ${i.tag.padEnd(40)} ${megabytes(i.bytes).padStart(9)}  ${i.built ? `built ${i.seconds} s` : "cached"}`,
    );
  }
  console.log(
    `images ready in ${((Date.now() - started) / 1000).toFixed(1)} s (podman ${engine.version}, CONTAINERS_CONF=${engine.containersConf})`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
