/**
 * Writes the CRD manifests generated from core/crd into charts/lagscale/crds/.
 *
 *   npx tsx scripts/gen-crds.ts          write the files
 *   npx tsx scripts/gen-crds.ts --check  exit 1 if a checked-in file differs
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { crdFiles, repoRoot } from "./crd-files.js";

const check = process.argv.includes("--check");
let stale = 0;
for (const [relative, content] of await crdFiles()) {
  const file = path.join(repoRoot, relative);
  let current: string | undefined;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    stale++;
    console.error(`${relative} is stale: run \`npx tsx scripts/gen-crds.ts\``);
  } else {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    console.log(`wrote ${relative}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
