/**
 * Writes the chart's values.schema.json and the values reference of docs/chart.md from scripts/chart-values.ts.
 *
 *   npx tsx scripts/gen-chart-values.ts          write the files
 *   npx tsx scripts/gen-chart-values.ts --check  exit 1 if a checked-in file differs
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chartValuesFiles } from "./chart-values-files.js";
import { repoRoot } from "./crd-files.js";

const check = process.argv.includes("--check");
let stale = 0;
for (const [relative, content] of await chartValuesFiles()) {
  const file = path.join(repoRoot, relative);
  if (existsSync(file) && readFileSync(file, "utf8") === content) continue;
  if (check) {
    stale++;
    console.error(`${relative} is stale: run \`npx tsx scripts/gen-chart-values.ts\``);
  } else {
    writeFileSync(file, content);
    console.log(`wrote ${relative}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
