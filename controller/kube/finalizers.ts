/**
 * Adding and removing a finalizer with optimistic concurrency: the new finalizer list is written with a
 * merge patch that carries the resourceVersion it was computed from, so the API server refuses it (409) if
 * anyone changed the object meanwhile (another finalizer added, say); then the object is read again and the
 * change recomputed, up to `retries` times (client-go's retry.RetryOnConflict does the same).
 */
import { resourcePath, type KubeObject, type ResourceType } from "./resources.js";
import { isConflict, isNotFound, type KubeRest } from "./rest.js";
import { errorText } from "../../core/errors.js";

/** lagscale's finalizer on ScaledObjects and ScaledJobs (KEDA's is finalizer.keda.sh). */
export const FINALIZER = "finalizer.lagscale.io";

export function hasFinalizer(obj: KubeObject, finalizer: string = FINALIZER): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

export class Finalizers {
  constructor(
    private readonly rest: KubeRest,
    private readonly retries = 5,
  ) {}

  /**
   * Ensures `finalizer` is on the object. `current` is the object as last seen (e.g. from the informer);
   * it is read again only after a conflict. Returns the object as written (or `current` when it already had
   * the finalizer).
   */
  async add<T extends KubeObject>(
    type: ResourceType<T>,
    current: T,
    finalizer: string = FINALIZER,
  ): Promise<{ changed: boolean; object: T }> {
    const result = await this.update(type, current, finalizer, (list) =>
      list.includes(finalizer) ? undefined : [...list, finalizer],
    );
    if (!result.object) {
      throw new Error(
        `add finalizer ${finalizer} to ${describe(type, current)}: the object no longer exists`,
      );
    }
    return { changed: result.changed, object: result.object };
  }

  /**
   * Ensures `finalizer` is not on the object. Returns `object: undefined` when the object is gone (which
   * removing the last finalizer of a deleted object causes).
   */
  async remove<T extends KubeObject>(
    type: ResourceType<T>,
    current: T,
    finalizer: string = FINALIZER,
  ): Promise<{ changed: boolean; object: T | undefined }> {
    return this.update(type, current, finalizer, (list) =>
      list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined,
    );
  }

  private async update<T extends KubeObject>(
    type: ResourceType<T>,
    current: T,
    finalizer: string,
    change: (list: string[]) => string[] | undefined,
  ): Promise<{ changed: boolean; object: T | undefined }> {
    const path = resourcePath(type, current.metadata?.namespace, current.metadata?.name);
    let obj: T | undefined = current;
    for (let attempt = 0; ; attempt++) {
      const next = change(obj.metadata?.finalizers ?? []);
      if (!next) return { changed: false, object: obj };
      try {
        const written = await this.rest.patch<T>(path, {
          metadata: { resourceVersion: obj.metadata?.resourceVersion, finalizers: next },
        });
        // a deleted object whose last finalizer went is gone: the API server answers with its final state
        return {
          changed: true,
          object: written.metadata?.deletionTimestamp && next.length === 0 ? undefined : written,
        };
      } catch (err) {
        if (isNotFound(err)) return { changed: false, object: undefined };
        if (!isConflict(err) || attempt >= this.retries) {
          throw new Error(`update finalizer ${finalizer} of ${describe(type, current)}: ${errorText(err)}`, {
            cause: err,
          });
        }
      }
      await new Promise((r) => setTimeout(r, 10 * (attempt + 1) + Math.random() * 10));
      try {
        obj = await this.rest.get<T>(path);
      } catch (err) {
        if (isNotFound(err)) return { changed: false, object: undefined };
        throw err;
      }
    }
  }
}

function describe(type: ResourceType, obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return `${type.kind} ${ns ? `${ns}/` : ""}${obj.metadata?.name ?? "?"}`;
}
