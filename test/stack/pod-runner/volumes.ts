/**
 * Pod volumes as folders under the pod's state folder. A process cannot see `/etc/config` or
 * `/var/run/secrets/...`, so a container learns where its mounts are through env:
 *
 * - `LAGSCALE_VOLUME_<NAME>`: the folder of each volume the container mounts (subPath appended);
 * - `LAGSCALE_TOKEN_<NAME>`: the token file of a projected serviceAccountToken source in that volume;
 * - `LAGSCALE_SERVICEACCOUNT_DIR`: the folder mounted at /var/run/secrets/kubernetes.io/serviceaccount
 *   (token, ca.crt, namespace), the one in-cluster clients read;
 * - `LAGSCALE_MOUNTS`: JSON object mountPath → folder, for everything else.
 *
 * `<NAME>` is the volume name upper-cased with every other character than A-Z and 0-9 turned into `_`.
 * Supported: emptyDir, configMap, secret, downwardAPI (fieldRef), projected (serviceAccountToken, configMap,
 * secret, downwardAPI), hostPath (the host folder itself), persistentVolumeClaim (a folder per claim).
 *
 * File modes are the kubelet's: an item's `mode`, else the volume's `defaultMode`, else 0644; emptyDir folders
 * are 0777. So a container run from its image as a non-root user reads its Secrets and tokens as on a node.
 */
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type {
  CoreV1Api,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1Volume,
} from "@kubernetes/client-node";
import { ContainerConfigError, fieldRefValue, type EnvLookups, type PodFacts } from "./env.js";

export const SERVICEACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
export const DEFAULT_TOKEN_SECONDS = 3607;
/** The API's default `defaultMode` for secret, configMap, downwardAPI and projected volumes. */
export const DEFAULT_FILE_MODE = 0o644;

export function volumeEnvName(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

export interface FileOut {
  path: string;
  content: string | Buffer;
  /** The item's own mode; the volume's defaultMode otherwise. */
  mode?: number;
}

function safeRelative(p: string, where: string): string {
  const norm = path.posix.normalize(p);
  if (!p || norm.startsWith("..") || path.posix.isAbsolute(norm)) {
    throw new ContainerConfigError(
      `${where}: path ${JSON.stringify(p)} must be relative and stay inside the volume`,
    );
  }
  return norm;
}

/** configMap/secret keys as files: all keys, or just `items` (key → path), as the kubelet projects them. */
export function keyFiles(
  data: Record<string, string | Buffer>,
  items: V1KeyToPath[] | undefined,
  where: string,
  optional: boolean,
): FileOut[] {
  if (!items || items.length === 0) {
    return Object.entries(data).map(([k, v]) => ({ path: safeRelative(k, where), content: v }));
  }
  const out: FileOut[] = [];
  for (const item of items) {
    const v = data[item.key];
    if (v === undefined) {
      if (optional) continue;
      throw new ContainerConfigError(`${where}: key ${JSON.stringify(item.key)} not found`);
    }
    out.push({
      path: safeRelative(item.path, where),
      content: v,
      ...(item.mode !== undefined ? { mode: item.mode } : {}),
    });
  }
  return out;
}

function quoteMap(m: Record<string, string> | undefined): string {
  return Object.entries(m ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join("\n");
}

/** downwardAPI items as files (labels/annotations as the kubelet writes them: key="value" per line). */
export function downwardFiles(
  pod: V1Pod,
  items: V1DownwardAPIVolumeFile[],
  facts: PodFacts,
  where: string,
): FileOut[] {
  return items.map((item) => {
    const p = safeRelative(item.path, where);
    const field = item.fieldRef?.fieldPath;
    if (!field) throw new ContainerConfigError(`${where}: item ${item.path}: only fieldRef is supported`);
    const mode = item.mode !== undefined ? { mode: item.mode } : {};
    if (field === "metadata.labels") return { path: p, content: quoteMap(pod.metadata?.labels), ...mode };
    if (field === "metadata.annotations")
      return { path: p, content: quoteMap(pod.metadata?.annotations), ...mode };
    return { path: p, content: fieldRefValue(pod, field, facts), ...mode };
  });
}

export interface TokenFile {
  volume: string;
  file: string;
  audiences: string[];
  expirationSeconds: number;
  /** The projected volume's defaultMode (or the source's mode). */
  mode: number;
}

export interface MaterializedVolumes {
  dirs: Record<string, string>;
  tokens: TokenFile[];
}

async function writeFiles(dir: string, files: FileOut[], defaultMode: number): Promise<void> {
  for (const f of files) {
    const full = path.join(dir, f.path);
    await mkdir(path.dirname(full), { recursive: true });
    const tmp = `${full}.tmp-${process.pid}`;
    await writeFile(tmp, f.content, { mode: 0o600 });
    // chmod after the write: the process umask must not narrow the mode the pod asked for
    await chmod(tmp, f.mode ?? defaultMode);
    await rename(tmp, full);
  }
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));
}

export interface VolumeDeps {
  api: CoreV1Api;
  lookups: EnvLookups;
  caPem: string;
}

/** A token for the pod's ServiceAccount bound to the pod, through the TokenRequest API. */
export async function requestToken(
  api: CoreV1Api,
  pod: V1Pod,
  audiences: string[],
  expirationSeconds: number,
): Promise<string> {
  const ns = pod.metadata?.namespace ?? "default";
  const sa = pod.spec?.serviceAccountName || "default";
  const res = await api.createNamespacedServiceAccountToken({
    name: sa,
    namespace: ns,
    body: {
      spec: {
        audiences,
        expirationSeconds,
        boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.metadata?.name, uid: pod.metadata?.uid },
      },
    },
  });
  const token = res.status?.token;
  if (!token) throw new Error(`TokenRequest for ${ns}/${sa} returned no token`);
  return token;
}

/** Writes (or rewrites, for refresh) one token file atomically. */
export async function writeToken(deps: VolumeDeps, pod: V1Pod, t: TokenFile): Promise<void> {
  const token = await requestToken(deps.api, pod, t.audiences, t.expirationSeconds);
  await writeFiles(path.dirname(t.file), [{ path: path.basename(t.file), content: token }], t.mode);
}

async function materializeOne(
  vol: V1Volume,
  dir: string,
  pod: V1Pod,
  facts: PodFacts,
  deps: VolumeDeps,
  tokens: TokenFile[],
): Promise<string> {
  const ns = pod.metadata?.namespace ?? "default";
  const where = `volume ${vol.name}`;
  if (vol.hostPath) return vol.hostPath.path;
  await mkdir(dir, { recursive: true });
  if (vol.configMap) {
    const name = vol.configMap.name ?? "";
    const cm = await deps.lookups.getConfigMap(ns, name);
    if (!cm) {
      if (vol.configMap.optional) return dir;
      throw new ContainerConfigError(`${where}: configmap "${name}" not found in namespace ${ns}`);
    }
    const data = { ...cm.data, ...decodeSecret(cm.binaryData) };
    await writeFiles(
      dir,
      keyFiles(data, vol.configMap.items, where, vol.configMap.optional ?? false),
      vol.configMap.defaultMode ?? DEFAULT_FILE_MODE,
    );
  } else if (vol.secret) {
    const name = vol.secret.secretName ?? "";
    const secret = await deps.lookups.getSecret(ns, name);
    if (!secret) {
      if (vol.secret.optional) return dir;
      throw new ContainerConfigError(`${where}: secret "${name}" not found in namespace ${ns}`);
    }
    await writeFiles(
      dir,
      keyFiles(decodeSecret(secret.data), vol.secret.items, where, vol.secret.optional ?? false),
      vol.secret.defaultMode ?? DEFAULT_FILE_MODE,
    );
  } else if (vol.downwardAPI) {
    await writeFiles(
      dir,
      downwardFiles(pod, vol.downwardAPI.items ?? [], facts, where),
      vol.downwardAPI.defaultMode ?? DEFAULT_FILE_MODE,
    );
  } else if (vol.projected) {
    const mode = vol.projected.defaultMode ?? DEFAULT_FILE_MODE;
    for (const src of vol.projected.sources ?? []) {
      if (src.serviceAccountToken) {
        const t: TokenFile = {
          volume: vol.name,
          file: path.join(dir, safeRelative(src.serviceAccountToken.path, where)),
          audiences: src.serviceAccountToken.audience ? [src.serviceAccountToken.audience] : [],
          expirationSeconds: src.serviceAccountToken.expirationSeconds ?? DEFAULT_TOKEN_SECONDS,
          mode,
        };
        await writeToken(deps, pod, t);
        tokens.push(t);
      } else if (src.configMap) {
        const name = src.configMap.name ?? "";
        const cm = await deps.lookups.getConfigMap(ns, name);
        if (!cm) {
          if (src.configMap.optional) continue;
          throw new ContainerConfigError(`${where}: configmap "${name}" not found in namespace ${ns}`);
        }
        await writeFiles(
          dir,
          keyFiles({ ...cm.data }, src.configMap.items, where, src.configMap.optional ?? false),
          mode,
        );
      } else if (src.secret) {
        const name = src.secret.name ?? "";
        const secret = await deps.lookups.getSecret(ns, name);
        if (!secret) {
          if (src.secret.optional) continue;
          throw new ContainerConfigError(`${where}: secret "${name}" not found in namespace ${ns}`);
        }
        await writeFiles(
          dir,
          keyFiles(decodeSecret(secret.data), src.secret.items, where, src.secret.optional ?? false),
          mode,
        );
      } else if (src.downwardAPI) {
        await writeFiles(dir, downwardFiles(pod, src.downwardAPI.items ?? [], facts, where), mode);
      }
    }
  } else {
    // emptyDir, persistentVolumeClaim and anything else: an empty folder of the pod's own, writable by
    // whichever user the pod's containers run as (the kubelet makes emptyDir 0777)
    await chmod(dir, 0o777);
  }
  return dir;
}

/**
 * Writes every volume of the pod under `podDir/volumes/<name>`. When no volume is mounted at the
 * service-account path and the pod does not opt out, a `serviceaccount` folder is made as the admission
 * plugin's projected volume would be (token bound to the pod, ca.crt, namespace).
 */
export async function materializeVolumes(
  pod: V1Pod,
  podDir: string,
  facts: PodFacts,
  deps: VolumeDeps,
): Promise<MaterializedVolumes> {
  const root = path.join(podDir, "volumes");
  await rm(root, { recursive: true, force: true });
  const dirs: Record<string, string> = {};
  const tokens: TokenFile[] = [];
  for (const vol of pod.spec?.volumes ?? []) {
    dirs[vol.name] = await materializeOne(vol, path.join(root, vol.name), pod, facts, deps, tokens);
  }
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const saMounted = containers.some((c) =>
    (c.volumeMounts ?? []).some((m) => m.mountPath === SERVICEACCOUNT_MOUNT),
  );
  if (!saMounted && pod.spec?.automountServiceAccountToken !== false) {
    const dir = path.join(root, ".serviceaccount");
    await mkdir(dir, { recursive: true });
    const t: TokenFile = {
      volume: ".serviceaccount",
      file: path.join(dir, "token"),
      audiences: [],
      expirationSeconds: DEFAULT_TOKEN_SECONDS,
      mode: DEFAULT_FILE_MODE,
    };
    await writeToken(deps, pod, t);
    tokens.push(t);
    await writeFiles(
      dir,
      [
        { path: "ca.crt", content: deps.caPem },
        { path: "namespace", content: pod.metadata?.namespace ?? "default" },
      ],
      DEFAULT_FILE_MODE,
    );
    dirs[".serviceaccount"] = dir;
  }
  return { dirs, tokens };
}

type MountingContainer = { volumeMounts?: { name: string; mountPath: string; subPath?: string }[] };

/**
 * mountPath → folder for one container, with the service-account folder at its standard path when no
 * volume is mounted there.
 */
export function mountFolders(
  container: MountingContainer,
  vols: MaterializedVolumes,
): Record<string, string> {
  const mounts: Record<string, string> = {};
  for (const m of container.volumeMounts ?? []) {
    const dir = vols.dirs[m.name];
    if (dir) mounts[m.mountPath] = m.subPath ? path.join(dir, m.subPath) : dir;
  }
  const fallback = vols.dirs[".serviceaccount"];
  if (!mounts[SERVICEACCOUNT_MOUNT] && fallback) mounts[SERVICEACCOUNT_MOUNT] = fallback;
  return mounts;
}

/** The env that tells one container where its mounts are (see the top of this file). */
export function volumeEnv(container: MountingContainer, vols: MaterializedVolumes): Record<string, string> {
  const env: Record<string, string> = {};
  const mounts: Record<string, string> = {};
  for (const m of container.volumeMounts ?? []) {
    const dir = vols.dirs[m.name];
    if (!dir) continue;
    const full = m.subPath ? path.join(dir, m.subPath) : dir;
    mounts[m.mountPath] = full;
    env[`LAGSCALE_VOLUME_${volumeEnvName(m.name)}`] = full;
    const token = vols.tokens.find((t) => t.volume === m.name);
    if (token) env[`LAGSCALE_TOKEN_${volumeEnvName(m.name)}`] = token.file;
    if (m.mountPath === SERVICEACCOUNT_MOUNT) env.LAGSCALE_SERVICEACCOUNT_DIR = full;
  }
  const fallback = vols.dirs[".serviceaccount"];
  if (!env.LAGSCALE_SERVICEACCOUNT_DIR && fallback) env.LAGSCALE_SERVICEACCOUNT_DIR = fallback;
  env.LAGSCALE_MOUNTS = JSON.stringify(mounts);
  return env;
}
