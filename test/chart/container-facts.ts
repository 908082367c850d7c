/**
 * What the chart test reads of a pod's container that the pod runner started from its image: the process
 * podman runs (its pid from `podman container inspect`), seen through /proc on this machine: user and
 * group, whether its root filesystem is mounted read-only, its environment and its resident memory.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface ContainerFacts {
  pid: number;
  uid: number;
  gid: number;
  rootReadOnly: boolean;
  env: Record<string, string>;
  /** VmRSS of the container's main process, in MiB. */
  rssMiB: number;
}

/** The `Uid:`/`Gid:` (real ids) and `VmRSS:` of /proc/<pid>/status. */
export function parseStatus(text: string): { uid: number; gid: number; rssKiB: number } {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text);
    if (!m) throw new Error(`/proc status has no ${name}`);
    return Number(m[1]);
  };
  return { uid: field("Uid"), gid: field("Gid"), rssKiB: field("VmRSS") };
}

/** Whether the mount at `/` of /proc/<pid>/mountinfo (field 5 the mount point, field 6 its options) is ro. */
export function rootMountReadOnly(mountinfo: string): boolean {
  const root = mountinfo
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[4] === "/")
    .pop();
  if (!root) throw new Error("mountinfo has no mount at /");
  return (root[5] ?? "").split(",").includes("ro");
}

export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of text.split("\0")) {
    const eq = kv.indexOf("=");
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return env;
}

/** Facts of the container a status' `containerID: podman://<id>` names. */
export async function containerFacts(podman: string, containerID: string): Promise<ContainerFacts> {
  const id = containerID.replace(/^podman:\/\//, "");
  const { stdout } = await execFileAsync(podman, ["container", "inspect", "--format", "{{.State.Pid}}", id]);
  const pid = Number(stdout.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`container ${id} has no running process`);
  const status = parseStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
  return {
    pid,
    uid: status.uid,
    gid: status.gid,
    rootReadOnly: rootMountReadOnly(readFileSync(`/proc/${pid}/mountinfo`, "utf8")),
    env: parseEnviron(readFileSync(`/proc/${pid}/environ`, "utf8")),
    rssMiB: status.rssKiB / 1024,
  };
}

/** The image's ENV as podman has it (e.g. the GIT_COMMIT the build wrote). */
export async function imageEnv(podman: string, image: string): Promise<Record<string, string>> {
  const { stdout } = await execFileAsync(podman, [
    "image",
    "inspect",
    "--format",
    "{{json .Config.Env}}",
    image,
  ]);
  return parseEnviron((JSON.parse(stdout) as string[]).join("\0"));
}
