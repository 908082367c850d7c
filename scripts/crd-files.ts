/**
 * The CRD manifests as they are checked in: core/crd's YAML, formatted with the repository's Prettier
 * settings so that `npm run format:check` agrees with the generator.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { renderCrdFiles } from "../core/crd/crds.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Path relative to the repository root → file content. */
export async function crdFiles(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [relative, content] of renderCrdFiles()) {
    const file = path.join(repoRoot, relative);
    const options = (await resolveConfig(file)) ?? {};
    out.set(relative, await format(content, { ...options, filepath: file }));
  }
  return out;
}
