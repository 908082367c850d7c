/** One watch of a Kubernetes collection, for the runner's list-then-watch loops (pods, Services). */
import { Watch, type KubeConfig } from "@kubernetes/client-node";

export interface WatchHandle {
  /** Resolves with why the watch ended (410 Gone, error event, closed by the server); rejects on errors. */
  ended: Promise<string>;
  abort(): void;
}

/**
 * Watches `path` from `resourceVersion`, giving ADDED/MODIFIED/DELETED events to `onEvent` (bookmarks are
 * skipped). `stopped()` true turns errors into a quiet end, for shutdown.
 */
export function watchFrom(
  kc: KubeConfig,
  path: string,
  resourceVersion: string,
  onEvent: (type: string, obj: unknown) => void,
  stopped: () => boolean,
): WatchHandle {
  let ctrl: AbortController | undefined;
  let aborted = false;
  const abort = () => {
    aborted = true;
    ctrl?.abort();
  };
  const ended = new Promise<string>((resolve, reject) => {
    let settled = false;
    const finish = (err: unknown, reason: string) => {
      if (settled) return;
      settled = true;
      if (err && !stopped()) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(reason);
    };
    new Watch(kc)
      .watch(
        path,
        { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
        (type: string, obj: unknown) => {
          if (type === "ERROR") {
            const status = obj as { code?: number; message?: string };
            abort();
            finish(
              undefined,
              status.code === 410 ? "resourceVersion too old (410)" : `watch error ${status.message ?? ""}`,
            );
          } else if (type !== "BOOKMARK") onEvent(type, obj);
        },
        (err: unknown) => finish(err, "closed by the server"),
      )
      .then(
        (c) => {
          ctrl = c;
          if (aborted || stopped()) c.abort();
        },
        (err: unknown) => finish(err, "could not start"),
      );
  });
  return { ended, abort };
}
