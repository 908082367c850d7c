import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Downloads and builds that survive fresh clones on the same machine (Kafka jars, control-plane binaries). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.LAGSCALE_CACHE_DIR?.trim();
  if (fromEnv) return path.resolve(fromEnv);
  const xdg = env.XDG_CACHE_HOME?.trim();
  return path.join(xdg ? path.resolve(xdg) : path.join(homedir(), ".cache"), "lagscale");
}

/** This clone's running stack: stack.json, kubeconfig, logs. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.LAGSCALE_STATE_DIR?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(repoRoot, ".lagscale");
}
