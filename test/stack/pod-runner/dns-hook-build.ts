/**
 * Compiles dns-hook.ts (and the one module it imports) to plain JavaScript under the state folder, so that
 * every Node program a pod runs can load it with `--import`, with or without tsx.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCES = ["dns-hook.ts", "service-names.ts"];

/** Writes the hook into `<outDir>` and returns the file URL to give to `--import`. */
export function buildDnsHook(outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "package.json"), JSON.stringify({ type: "module" }));
  for (const source of SOURCES) {
    const out = ts.transpileModule(readFileSync(path.join(HERE, source), "utf8"), {
      fileName: source,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(path.join(outDir, source.replace(/\.ts$/, ".js")), out.outputText);
  }
  return pathToFileURL(path.join(outDir, "dns-hook.js")).href;
}

/** NODE_OPTIONS with the hook added to what the container's env already says. */
export function withDnsHook(nodeOptions: string | undefined, hookUrl: string): string {
  const flag = `--import=${hookUrl}`;
  if (nodeOptions?.includes(flag)) return nodeOptions;
  return nodeOptions ? `${flag} ${nodeOptions}` : flag;
}
