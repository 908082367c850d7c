/**
 * Pause and related annotations (keda-semantics.md §2.10), under lagscale's prefix `lagscale.io/` and
 * under KEDA's `autoscaling.keda.sh/` so existing manifests keep their meaning. When both spellings of
 * one annotation are present, the lagscale.io one wins.
 */

export const LAGSCALE_ANNOTATION_PREFIX = "lagscale.io/";
export const KEDA_ANNOTATION_PREFIX = "autoscaling.keda.sh/";

export const PAUSE_ANNOTATIONS = {
  paused: "paused",
  pausedReplicas: "paused-replicas",
  pausedScaleIn: "paused-scale-in",
  pausedScaleOut: "paused-scale-out",
  forceActivation: "force-activation",
} as const;

export interface PauseState {
  /** Full pause: `paused` true (or any non-boolean value), or `paused-replicas` present. */
  paused: boolean;
  /** The replica count to hold while paused, from `paused-replicas`. */
  pausedReplicas?: number;
  /** Never scale in (and never deactivate). */
  pausedScaleIn: boolean;
  /** Never scale out (and never activate). */
  pausedScaleOut: boolean;
  /** Treat the triggers as active. */
  forceActivation: boolean;
  /** The annotation keys that set the fields above, for messages and events. */
  sources: string[];
}

export type PauseParse =
  { ok: true; value: PauseState } | { ok: false; error: { path: string; message: string } };

function lookup(
  annotations: Readonly<Record<string, string>>,
  name: string,
): { key: string; value: string } | undefined {
  for (const prefix of [LAGSCALE_ANNOTATION_PREFIX, KEDA_ANNOTATION_PREFIX]) {
    const key = prefix + name;
    if (Object.prototype.hasOwnProperty.call(annotations, key)) return { key, value: annotations[key] ?? "" };
  }
  return undefined;
}

/** KEDA's getBoolAnnotation: absent is false; a value that is not a Go boolean counts as true. */
function boolAnnotation(found: { value: string } | undefined): boolean {
  if (found === undefined) return false;
  const v = found.value;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return true;
}

/**
 * Reads the pause annotations of a ScaledObject (`kind` "ScaledObject") or ScaledJob ("ScaledJob": only
 * `paused` applies, as in KEDA). A `paused-replicas` value that is not a non-negative 32-bit integer is
 * an error (KEDA fails the reconcile on it).
 */
export function parsePauseAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  kind: "ScaledObject" | "ScaledJob" = "ScaledObject",
): PauseParse {
  const a = annotations ?? {};
  const sources: string[] = [];
  const paused = lookup(a, PAUSE_ANNOTATIONS.paused);
  if (kind === "ScaledJob") {
    const value = boolAnnotation(paused);
    if (value && paused) sources.push(paused.key);
    return {
      ok: true,
      value: { paused: value, pausedScaleIn: false, pausedScaleOut: false, forceActivation: false, sources },
    };
  }
  const replicas = lookup(a, PAUSE_ANNOTATIONS.pausedReplicas);
  let pausedReplicas: number | undefined;
  if (replicas !== undefined) {
    // Go's strconv.ParseInt(v, 10, 32): optional sign, ASCII digits, no spaces.
    const ok = /^[+-]?[0-9]+$/.test(replicas.value);
    const n = ok ? Number.parseInt(replicas.value, 10) : NaN;
    if (!ok || n > 2 ** 31 - 1 || n < 0) {
      return {
        ok: false,
        error: {
          path: `metadata.annotations["${replicas.key}"]`,
          message: `${replicas.key} must be a replica count (a whole number from 0 to ${2 ** 31 - 1}), got ${JSON.stringify(replicas.value.length > 40 ? `${replicas.value.slice(0, 40)}...` : replicas.value)}`,
        },
      };
    }
    pausedReplicas = n;
    sources.push(replicas.key);
  }
  const pausedValue = replicas !== undefined || boolAnnotation(paused);
  if (paused && boolAnnotation(paused)) sources.push(paused.key);
  const flag = (name: string): boolean => {
    const found = lookup(a, name);
    const v = boolAnnotation(found);
    if (v && found) sources.push(found.key);
    return v;
  };
  const value: PauseState = {
    paused: pausedValue,
    pausedScaleIn: flag(PAUSE_ANNOTATIONS.pausedScaleIn),
    pausedScaleOut: flag(PAUSE_ANNOTATIONS.pausedScaleOut),
    forceActivation: flag(PAUSE_ANNOTATIONS.forceActivation),
    sources,
  };
  if (pausedReplicas !== undefined) value.pausedReplicas = pausedReplicas;
  return { ok: true, value };
}

/** KEDA's HasPausedAnnotation: `paused` or `paused-replicas` present, whatever its value. */
export function hasPausedAnnotation(annotations: Readonly<Record<string, string>> | undefined): boolean {
  const a = annotations ?? {};
  return (
    lookup(a, PAUSE_ANNOTATIONS.paused) !== undefined ||
    lookup(a, PAUSE_ANNOTATIONS.pausedReplicas) !== undefined
  );
}
