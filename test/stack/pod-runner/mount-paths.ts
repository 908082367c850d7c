/**
 * A process cannot see its container's mountPaths, so the runner rewrites them where a container names them:
 * an env value or an arg that starts with a mountPath (or an arg `--flag=<path>` whose value does) gets that
 * prefix replaced by the volume's folder. `LAGSCALE_TOKEN_FILE=/var/run/secrets/lagscale/token` and
 * `--cert-dir=/certs` then work unchanged in pods. The longest matching mountPath wins; a prefix only
 * matches whole path segments (`/certs` does not match `/certsfoo`).
 */

/** mountPath → folder, from the container's volumeMounts. */
export type MountFolders = Record<string, string>;

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") : p;
}

/** The path with its mountPath prefix replaced, or the value unchanged when no mountPath starts it. */
export function translatePath(value: string, mounts: MountFolders): string {
  let best: { mount: string; folder: string } | undefined;
  for (const [mountPath, folder] of Object.entries(mounts)) {
    const mount = trimSlash(mountPath);
    // a volume mounted at / would swallow every absolute path: leave such values alone
    if (mount === "/" || !mount.startsWith("/")) continue;
    if (value !== mount && !value.startsWith(`${mount}/`)) continue;
    if (!best || mount.length > best.mount.length) best = { mount, folder };
  }
  return best ? trimSlash(best.folder) + value.slice(best.mount.length) : value;
}

/** An arg: a path as a whole, or the value of `-f=<path>` / `--flag=<path>`. */
export function translateArg(arg: string, mounts: MountFolders): string {
  const whole = translatePath(arg, mounts);
  if (whole !== arg) return whole;
  const flag = /^(--?[^=\s]+=)(\/.*)$/.exec(arg);
  if (!flag) return arg;
  return flag[1]! + translatePath(flag[2]!, mounts);
}

/** Every env value translated (names unchanged). */
export function translateEnv(env: Record<string, string>, mounts: MountFolders): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, translatePath(v, mounts)]));
}
