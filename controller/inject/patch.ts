/**
 * The JSONPatch (RFC 6902) that adds the sidecar to a pod, and the status annotation that records it.
 * Pure. The sidecar container and its token volume are `sidecar.ts`'s; this module only says where they
 * go: the sidecar after the pod's own init containers (they run before it; none of them needs it), the
 * volume after the pod's volumes, and `lagscale.io/inject-status` among the annotations.
 */
import type { V1Pod } from "@kubernetes/client-node";
import { INJECT_STATUS_ANNOTATION } from "./optin.js";
import {
  SIDECAR_CONTAINER,
  SIDECAR_TOKEN_VOLUME,
  sidecarContainer,
  sidecarTokenVolume,
  type SidecarSettings,
} from "./sidecar.js";

export interface JsonPatchOp {
  op: "add";
  path: string;
  value: unknown;
}

/** What `lagscale.io/inject-status` says, as JSON: what was injected, from what, by which version. */
export interface InjectStatus {
  version: string;
  scaledObject: string;
  trigger: number;
  image: string;
  containers: string[];
  volumes: string[];
}

/** True when the pod already carries the sidecar or the status annotation: a second pass adds nothing. */
export function alreadyInjected(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.[INJECT_STATUS_ANNOTATION] !== undefined) return true;
  const spec = pod.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].some(
    (c) => c.name === SIDECAR_CONTAINER,
  );
}

/** RFC 6901: `~` and `/` in a key. */
function pointerKey(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The patch for a pod that `alreadyInjected` says has no sidecar yet. */
export function injectionPatch(
  pod: V1Pod,
  settings: SidecarSettings,
  status: Omit<InjectStatus, "containers" | "volumes" | "image">,
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const container = sidecarContainer(settings);
  if (pod.spec?.initContainers === undefined)
    ops.push({ op: "add", path: "/spec/initContainers", value: [container] });
  else ops.push({ op: "add", path: "/spec/initContainers/-", value: container });
  const volume = sidecarTokenVolume();
  if (pod.spec?.volumes === undefined) ops.push({ op: "add", path: "/spec/volumes", value: [volume] });
  else ops.push({ op: "add", path: "/spec/volumes/-", value: volume });

  const full: InjectStatus = {
    ...status,
    image: settings.image,
    containers: [SIDECAR_CONTAINER],
    volumes: [SIDECAR_TOKEN_VOLUME],
  };
  const value = JSON.stringify(full);
  if (pod.metadata?.annotations === undefined) {
    ops.push({ op: "add", path: "/metadata/annotations", value: { [INJECT_STATUS_ANNOTATION]: value } });
  } else {
    ops.push({ op: "add", path: `/metadata/annotations/${pointerKey(INJECT_STATUS_ANNOTATION)}`, value });
  }
  return ops;
}
