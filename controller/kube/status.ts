/**
 * Writing the `status` of ScaledObjects and ScaledJobs through the `/status` subresource.
 *
 * `StatusWriter.patch` takes the object as last seen and the status fields to set, merges conditions so that
 * an unchanged condition keeps its lastTransitionTime, computes the JSON merge patch that turns the old status
 * fields into the new ones (nested maps replaced, not merged), and sends nothing when that patch is empty
 * (KEDA: nothing is patched if nothing changed). A merge patch carries no resourceVersion, so it does not
 * conflict with other writers of other fields.
 */
import type { Condition } from "../../core/crd/index.js";
import { resourcePath, type KubeObject, type ResourceType } from "./resources.js";
import type { KubeRest } from "./rest.js";

export type { Condition };

/** metav1.Time form: RFC 3339 in UTC with whole seconds. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * The conditions after setting `updates` on `old`, as apimachinery's meta.SetStatusCondition: a condition
 * whose status is unchanged keeps its lastTransitionTime (reason and message are updated); a changed or new
 * one gets `now`; conditions not in `updates` stay as they were, in their order; new types are appended.
 * Pure: neither input is modified.
 */
export function mergeConditions(
  old: readonly Condition[] | undefined,
  updates: readonly Condition[],
  now: Date,
): Condition[] {
  const out = (old ?? []).map((c) => ({ ...c }));
  let stamp: string | undefined; // formatted only for a condition that changed: most evaluations have none
  for (const u of updates) {
    const i = out.findIndex((c) => c.type === u.type);
    const prev = i >= 0 ? out[i] : undefined;
    const next: Condition = { type: u.type, status: u.status };
    if (u.reason !== undefined) next.reason = u.reason;
    if (u.message !== undefined) next.message = u.message;
    next.lastTransitionTime =
      prev && prev.status === u.status && prev.lastTransitionTime
        ? prev.lastTransitionTime
        : (stamp ??= kubeTime(now));
    if (i >= 0) out[i] = next;
    else out.push(next);
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    // a key whose value is undefined is no key in JSON; counted, not filtered into arrays (every evaluation)
    let defined = 0;
    for (const k in a) {
      if (a[k] === undefined) continue;
      if (!jsonEqual(a[k], b[k])) return false;
      defined++;
    }
    for (const k in b) if (b[k] !== undefined) defined--;
    return defined === 0;
  }
  return false;
}

/**
 * The RFC 7386 merge patch that turns `from` into `to` (both JSON objects): changed values set, removed keys
 * null, nested objects diffed, arrays replaced whole. Undefined (no key) when they are equal.
 */
export function mergePatchDiff(
  from: Record<string, unknown>,
  to: Record<string, unknown>,
): Record<string, Json> | undefined {
  const patch: Record<string, Json> = {};
  for (const k of new Set([...Object.keys(from), ...Object.keys(to)])) {
    const a = from[k];
    const b = to[k];
    if (b === undefined || b === null) {
      if (a !== undefined && a !== null) patch[k] = null;
    } else if (isPlainObject(a) && isPlainObject(b)) {
      const sub = mergePatchDiff(a, b);
      if (sub) patch[k] = sub;
    } else if (!jsonEqual(a, b)) {
      patch[k] = b as Json;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/**
 * Status fields to set; `null` removes a field, `undefined` leaves it alone. `conditions` are merged with
 * mergeConditions.
 */
export type StatusChanges<S> = { [K in keyof S]?: S[K] | null };

export class StatusWriter {
  constructor(
    private readonly rest: KubeRest,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Patches `changes` into `current.status` through `/status`. Returns the object the API server sent back,
   * or `current` itself (and `patched: false`) when nothing would change.
   */
  async patch<T extends KubeObject & { status?: { conditions?: Condition[] } }>(
    type: ResourceType<T>,
    current: T,
    changes: StatusChanges<NonNullable<T["status"]>>,
  ): Promise<{ patched: boolean; object: T }> {
    const ns = current.metadata?.namespace;
    const name = current.metadata?.name;
    if (!name) throw new Error(`status patch of a ${type.kind} without metadata.name`);
    const oldStatus = (current.status ?? {}) as Record<string, unknown>;
    // a key given as undefined is not a change; null removes the field
    const desired: Record<string, unknown> = Object.fromEntries(
      Object.entries(changes as Record<string, unknown>).filter(([, v]) => v !== undefined),
    );
    if (changes.conditions) {
      desired.conditions = mergeConditions(current.status?.conditions, changes.conditions, this.now());
    }
    const from: Record<string, unknown> = {};
    for (const k of Object.keys(desired)) from[k] = oldStatus[k];
    const diff = mergePatchDiff(from, desired);
    if (!diff) return { patched: false, object: current };
    // a KubeApiError names the request path, hence the object
    const object = await this.rest.patch<T>(
      resourcePath(type, ns, name, "status"),
      { status: diff },
      "merge",
    );
    return { patched: true, object };
  }
}
