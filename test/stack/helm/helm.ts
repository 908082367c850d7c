/**
 * helm for the chart's checks: built once per version from the Go module proxy into the cache folder
 * (build-helm.sh), like the control plane, and run with the stack's kubeconfig. One build per cache folder
 * at a time; the others wait for it.
 */
import { access, constants, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { acquireLock, run } from "../process.js";

/** helm v3.22.0: the newest v3 the Go module proxy serves that builds on Go 1.26 (v4 changes the CLI). */
export const HELM_VERSION = "v3.22.0";

const here = path.dirname(fileURLToPath(import.meta.url));

export function helmPath(cacheDir: string): string {
  return path.join(cacheDir, `helm-${HELM_VERSION}`, "bin", "helm");
}

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The helm binary, built if missing; `buildMs` is set when this call built it. */
export async function ensureHelm(
  cacheDir: string,
  progress: (line: string) => void,
): Promise<{ helm: string; buildMs?: number }> {
  const helm = helmPath(cacheDir);
  if (await executable(helm)) return { helm };
  const out = path.dirname(path.dirname(helm));
  await mkdir(out, { recursive: true });
  const release = await acquireLock(
    path.join(out, "build.lock"),
    progress,
    "another process is building helm",
  );
  try {
    if (await executable(helm)) return { helm };
    const started = Date.now();
    const result = await run("bash", [path.join(here, "build-helm.sh"), HELM_VERSION, out], {
      onLine: (line) => line.trim() && progress(line.trim()),
    });
    if (result.code !== 0 || !(await executable(helm))) {
      throw new Error(
        `building helm ${HELM_VERSION} failed (exit ${result.code}):\n${result.output.slice(-3000)}`,
      );
    }
    return { helm, buildMs: Date.now() - started };
  } finally {
    release();
  }
}

/** Runs helm; a non-zero exit throws with its output. */
export async function runHelm(helm: string, args: string[], kubeconfig?: string): Promise<string> {
  const result = await run(helm, [...(kubeconfig ? ["--kubeconfig", kubeconfig] : []), ...args]);
  if (result.code !== 0)
    throw new Error(`helm ${args.join(" ")} failed (exit ${result.code}):\n${result.output}`);
  return result.output;
}
