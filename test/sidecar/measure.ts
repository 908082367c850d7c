/**
 * What the sidecar costs, as it ships (compiled JS from `npm run build:sidecar`, default settings), printed
 * phase by phase; the measurement itself is test/bench/sidecar-cost.ts (also run by `npm run bench -- sidecar`).
 * Figures, not assertions: the machine is shared and noisy.
 *
 *   npm run build:sidecar
 *   LAGSCALE_STACK_FILE=.lagscale/stack.json npx tsx test/sidecar/measure.ts [idleSeconds] [busySeconds]
 *
 * MEASURE_NODE_ARGS: extra node flags for the sidecar, e.g. `--cpu-prof` to see where its CPU goes.
 */
import { existsSync } from "node:fs";
import { measureSidecarCost, SIDECAR_MAIN, type PhaseCost } from "../bench/sidecar-cost.js";

const mib = (b: number) => (b / 1024 / 1024).toFixed(1);

function line(p: PhaseCost): string {
  return (
    `sidecar ${p.label}: ${p.seconds.toFixed(0)} s, rss ${mib(p.rss)} MiB (max ${mib(p.maxRss)}), ` +
    `cpu ${p.cpuPercent.toFixed(2)} % of a core, ${p.reports} reports, ${p.kafkaRequests} Kafka requests ` +
    `(${(p.kafkaRequests / p.seconds).toFixed(2)}/s, ${p.reports > 0 ? (p.kafkaRequests / p.reports).toFixed(2) : "-"} per report: ${p.byApi})`
  );
}

async function main(): Promise<void> {
  if (!existsSync(SIDECAR_MAIN))
    throw new Error(`${SIDECAR_MAIN} is missing: run \`npm run build:sidecar\` first`);
  const nodeArgs = (process.env.MEASURE_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const cost = await measureSidecarCost(
    Number(process.argv[2] ?? 60),
    Number(process.argv[3] ?? 20),
    nodeArgs,
  );
  console.log(`sidecar start: rss ${mib(cost.startRss)} MiB after the first report`);
  console.log(line(cost.idle));
  console.log(line(cost.withLag));
  console.log(`sidecar healthz: ${cost.healthz}`);
  console.log(`sidecar SIGTERM: exit code ${cost.sigtermExit} after ${cost.sigtermMs} ms`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
