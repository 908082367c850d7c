/**
 * The test command (`npm test`). Unit tests need nothing; integration tests need the local stack, which this
 * brings up itself (or reuses when one is already up) and takes down again when it started it. Everything
 * runs in one `node --test` invocation so that there is one summary.
 *
 *   npm test                 unit + integration (brings up Kafka and the control plane)
 *   npm test -- --unit       unit tests only
 *   npm test -- <files...>   just these test files (the stack is brought up if any is under test/)
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const UNIT_ROOTS = ["core", "controller", "sidecar", "demo-apps"];
const SKIP_DIRS = new Set(["node_modules", "dist", ".lagscale", ".git"]);

function findTests(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (SKIP_DIRS.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith(".test.ts")) out.push(path.relative(root, full));
  }
  return out.sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unitOnly = args.includes("--unit");
  const explicit = args.filter((a) => !a.startsWith("--"));
  const unitFiles = UNIT_ROOTS.flatMap((d) => findTests(path.join(root, d)));
  const integrationFiles = unitOnly ? [] : findTests(path.join(root, "test"));
  const files = explicit.length > 0 ? explicit : [...unitFiles, ...integrationFiles];
  const needsStack = files.some((f) => f.split(path.sep)[0] === "test");

  const env: NodeJS.ProcessEnv = { ...process.env };
  let takeDown: (() => Promise<void>) | undefined;
  if (needsStack) {
    const { ensureStack } = await import("./stack/stack.js");
    const started = Date.now();
    const { info, startedHere, down } = await ensureStack({
      progress: (line) => console.log(`stack: ${line}`),
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(
      `stack: ${startedHere ? "provisioned" : "reused"} in ${seconds} s ` +
        `(kafka ${info.kafka.kind} ${info.kafka.version}, kubernetes ${info.kube.kind} ${info.kube.version}; ` +
        Object.entries(info.timings)
          .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
          .join(", ") +
        ")",
    );
    env.LAGSCALE_STACK_FILE = path.join(info.dir, "stack.json");
    // testcontainers in the tests reaches the stack's podman socket (DOCKER_HOST, no Ryuk, CONTAINERS_CONF)
    const service = info.containers?.service;
    if (service) {
      const { testcontainersEnv } = await import("./stack/containers/service.js");
      Object.assign(env, testcontainersEnv(service));
    } else if (info.containers) {
      console.log(
        `stack: no container engine (${info.containers.reason ?? "unknown"}): container tests skip`,
      );
    }
    if (startedHere && process.env.LAGSCALE_KEEP_STACK !== "1") takeDown = down;
  }

  const nodeArgs = [
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=2",
    `--test-timeout=${process.env.LAGSCALE_TEST_TIMEOUT_MS ?? "600000"}`,
    ...files,
  ];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: "inherit" });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  if (takeDown) {
    try {
      await takeDown();
    } catch (err) {
      console.error(`stack: teardown failed: ${String(err)}`);
      return code || 1;
    }
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
