/**
 * The controller as it ships, for benchmarks: `core/` and `controller/` compiled by tsc into a temporary
 * folder (tests left out), with the repository's package.json (`"type": "module"`, the version) and a link to
 * its node_modules beside them, so that `node <dir>/controller/main.js` runs without a TypeScript loader.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../stack/paths.js";

const run = promisify(execFile);

export interface CompiledController {
  /** The compiled `controller/main.js`. */
  main: string;
  remove(): void;
}

export async function compileController(): Promise<CompiledController> {
  const dir = mkdtempSync(path.join(tmpdir(), "lagscale-controller-"));
  const out = path.join(dir, "out");
  const tsconfig = path.join(dir, "tsconfig.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(repoRoot, "tsconfig.json"),
      compilerOptions: {
        outDir: out,
        rootDir: repoRoot,
        sourceMap: false,
        noEmit: false,
        // Type packages are looked up from the tsconfig's folder, which is the temporary one.
        typeRoots: [path.join(repoRoot, "node_modules", "@types")],
      },
      include: [path.join(repoRoot, "core"), path.join(repoRoot, "controller")],
      exclude: [path.join(repoRoot, "**", "*.test.ts"), path.join(repoRoot, "node_modules")],
    }),
  );
  const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-p", tsconfig], { timeout: 300_000 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stdout?: string; message: string };
    throw new Error(`compiling the controller failed: ${e.stdout || e.message}`, { cause: err });
  }
  copyFileSync(path.join(repoRoot, "package.json"), path.join(out, "package.json"));
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(out, "node_modules"));
  return {
    main: path.join(out, "controller", "main.js"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
