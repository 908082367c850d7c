/**
 * `npm run stack -- up|down|status`: the local stack for people and scripts.
 *
 *   up       bring Kafka, the control plane and the pod runner up (or reuse the running stack); prints where
 *            the kubeconfig and bootstrap servers are
 *   down     stop every part, also when some already died
 *   status   what runs; exit code 0 when the stack is healthy, 1 when it is not, 3 when none is recorded
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { describeProblems, down, status, up, type StackStatus } from "./stack.js";
import { stateDir } from "./paths.js";

const USAGE = "usage: npm run stack -- up | down | status [--json]";

function progress(line: string): void {
  const t = new Date().toISOString().slice(11, 19);
  console.error(`${t} ${line}`);
}

function printStatus(st: StackStatus): void {
  const info = st.info;
  if (!st.recorded || !info) {
    console.log(
      `no stack recorded in ${path.join(stateDir(), "stack.json")} (start one with \`npm run stack -- up\`)`,
    );
    if (st.unfinished)
      console.log(`an unfinished \`up\` left: ${st.unfinished.join(", ")} (run \`npm run stack -- down\`)`);
    return;
  }
  const mark = (ok: boolean) => (ok ? "ok " : "BAD");
  console.log(
    `stack started ${info.startedAt}: ${st.healthy ? "healthy" : `NOT healthy (${describeProblems(st)})`}`,
  );
  if (st.kafka) {
    const ok = st.kafka.state === "running" && st.kafka.reachable === "ok";
    console.log(
      `  [${mark(ok)}] kafka ${info.kafka.kind} ${info.kafka.version}: ${st.kafka.state}, ` +
        `${info.bootstrapServers.join(",")} ${st.kafka.reachable === "ok" ? "reachable" : `unreachable (${st.kafka.reachable})`}`,
    );
    if (info.kafka.sasl)
      console.log(`        SASL/SCRAM listener: ${info.kafka.sasl.bootstrapServers.join(",")}`);
  }
  if (st.kube) {
    const pids = (info.kube.handle as { pids?: Record<string, number> }).pids ?? {};
    const pidOf: Record<string, number | undefined> = {
      etcd: pids.etcd,
      "kube-apiserver": pids.apiserver,
      "kube-controller-manager": pids.controllerManager,
    };
    console.log(
      `  [${mark(st.kube.healthy)}] kubernetes ${info.kube.kind} ${info.kube.version}: ${info.kube.server}, ` +
        `/readyz ${st.kube.readyz}`,
    );
    for (const [name, alive] of Object.entries(st.kube.processes)) {
      console.log(`        ${name} pid ${pidOf[name] ?? "?"}: ${alive ? "running" : "NOT running"}`);
    }
  }
  if (info.podRunner && st.podRunner) {
    console.log(
      `  [${mark(st.podRunner.alive)}] pod runner pid ${info.podRunner.pid}: ${st.podRunner.alive ? "running" : "NOT running"}, ` +
        `node ${info.podRunner.nodeName} ${st.podRunner.node}`,
    );
  }
  console.log(`  kubeconfig: ${info.kubeconfig}`);
  console.log(`  logs: ${path.join(info.dir, "logs")}`);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes("--json");
  const unknown = rest.filter((a) => a !== "--json");
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(" ")}\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case "up": {
      const started = Date.now();
      const { info, startedHere } = await up({ progress });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      if (json) {
        console.log(JSON.stringify(info, null, 2));
        return 0;
      }
      console.log(`stack ${startedHere ? "up" : "already running, reused"} in ${secs} s`);
      console.log(`  kubeconfig:        ${info.kubeconfig}`);
      console.log(`  API server:        ${info.kube.server} (${info.kube.kind} ${info.kube.version})`);
      console.log(
        `  bootstrap servers: ${info.bootstrapServers.join(",")} (${info.kafka.kind} Kafka ${info.kafka.version})`,
      );
      if (info.kafka.sasl) console.log(`  SASL/SCRAM:        ${info.kafka.sasl.bootstrapServers.join(",")}`);
      if (info.podRunner)
        console.log(`  node:              ${info.podRunner.nodeName} (pod runner pid ${info.podRunner.pid})`);
      console.log(`  stack file:        ${path.join(info.dir, "stack.json")}`);
      if (startedHere) {
        console.log(
          `  timings:           ${Object.entries(info.timings)
            .map(([k, v]) => `${k} ${v} s`)
            .join(", ")}`,
        );
      }
      const linked = path.join(info.dir, "bin", "kubectl");
      const kubectl = existsSync(linked) ? path.relative(process.cwd(), linked) || linked : "kubectl";
      const kubeconfig = path.relative(process.cwd(), info.kubeconfig) || info.kubeconfig;
      console.log(`try: ${kubectl} --kubeconfig ${kubeconfig} get nodes,pods -A`);
      return 0;
    }
    case "down":
      await down({ progress });
      console.log("stack stopped");
      return 0;
    case "status": {
      const st = await status({ progress });
      if (json) console.log(JSON.stringify(st, null, 2));
      else printStatus(st);
      if (!st.recorded) return 3;
      return st.healthy ? 0 : 1;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
