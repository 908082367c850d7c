/**
 * Ties a child process's life to this one's. A test runner that cancels a test may SIGKILL the test process,
 * and `process.on("exit")` never runs then: a controller started by the test would outlive it, keep its
 * leases and keep scaling. A small watcher process holds a pipe from this process; when the pipe closes
 * (this process is gone, however it died) the watcher SIGKILLs the child. The child itself is spawned as
 * usual, so tests still signal it directly (a crash test's SIGKILL reaches the controller, not a wrapper).
 */
import { spawn } from "node:child_process";

const WATCHER = `
const pid = Number(process.argv[1]);
const kill = () => { try { process.kill(pid, "SIGKILL"); } catch {} process.exit(0); };
process.stdin.on("end", kill);
process.stdin.on("close", kill);
process.stdin.on("error", kill);
process.stdin.resume();
setInterval(() => { try { process.kill(pid, 0); } catch { process.exit(0); } }, 1000);
`;

/** SIGKILLs `pid` when this process ends; the watcher leaves by itself once `pid` is gone. */
export function killWhenThisProcessEnds(pid: number): void {
  const watcher = spawn(process.execPath, ["-e", WATCHER, String(pid)], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  watcher.unref();
  // the pipe must not keep this process's event loop alive
  (watcher.stdin as unknown as { unref?: () => void }).unref?.();
}
