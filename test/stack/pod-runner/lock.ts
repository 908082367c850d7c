/**
 * One runner per node and state folder: two runners playing the same Node would start every pod twice. The
 * lock is a file `<stateDir>/pod-runner/<node>.lock` holding the owner's pid and its start time (so that a
 * pid reused by an unrelated process after a crash does not count).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The kernel's start time of a process (clock ticks since boot), or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the command name (which may hold spaces) start at ") "; starttime is field 22
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19];
  } catch {
    return undefined;
  }
}

export function lockFile(stateDir: string, nodeName: string): string {
  return path.join(stateDir, "pod-runner", `${nodeName}.lock`);
}

/** Takes the lock for this process, or throws naming the runner that holds it. */
export function acquireLock(stateDir: string, nodeName: string): () => void {
  const file = lockFile(stateDir, nodeName);
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    const [pidText, start] = readFileSync(file, "utf8").trim().split(" ");
    const pid = Number(pidText);
    if (pid !== process.pid && Number.isInteger(pid) && pid > 0 && start && processStartTime(pid) === start) {
      throw new Error(
        `a pod runner (pid ${pid}) already plays node ${nodeName} for ${stateDir} (lock ${file}); ` +
          `stop it first (stopPodRunner, or npm run stack -- down)`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const mine = `${process.pid} ${processStartTime(process.pid) ?? ""}`;
  writeFileSync(file, `${mine}\n`);
  return () => {
    try {
      if (readFileSync(file, "utf8").trim() === mine) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}
