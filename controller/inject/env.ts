/**
 * Copying one environment variable's definition from the consumer container into the sidecar, so the
 * sidecar reads what the consumer reads (a `<name>FromEnv` parameter, or a TriggerAuthentication `env`
 * entry) without lagscale ever reading the value: a `secretKeyRef` stays a `secretKeyRef`. Pure.
 */
import type { V1Container, V1EnvVar } from "@kubernetes/client-node";
import { expandEnvValue } from "../auth/resolve.js";

export type Copied = { ok: true; env: V1EnvVar } | { ok: false; problem: string };

/** The container `name` names, or the first one (KEDA's default for `envSourceContainerName`). */
export function sourceContainer(
  containers: readonly V1Container[],
  name: string | undefined,
): { ok: true; container: V1Container } | { ok: false; problem: string } {
  const c = name === undefined || name === "" ? containers[0] : containers.find((x) => x.name === name);
  if (c) return { ok: true, container: c };
  return {
    ok: false,
    problem:
      containers.length === 0
        ? "the pod has no containers"
        : `the pod has no container ${JSON.stringify(name)} (containers: ${containers.map((x) => x.name).join(", ")})`,
  };
}

/**
 * The definition of `variable` in `container`, renamed to `as`. A literal value is expanded against the
 * container's earlier literal values, since the sidecar does not have the consumer's other variables.
 */
export function copyEnvVar(container: V1Container, variable: string, as: string): Copied {
  const env = container.env ?? [];
  let index = -1;
  for (let i = env.length - 1; i >= 0; i--) {
    if (env[i]!.name === variable) {
      index = i;
      break;
    }
  }
  const where = `environment variable ${JSON.stringify(variable)} of container ${JSON.stringify(container.name)}`;
  if (index < 0) {
    const viaEnvFrom = (container.envFrom ?? []).length > 0;
    return {
      ok: false,
      problem: viaEnvFrom
        ? `${where} is not in its env list (envFrom cannot be copied without reading it): define it with env, as value or valueFrom`
        : `${where} is not defined`,
    };
  }
  const def = env[index]!;
  if (def.valueFrom) {
    const valueFrom = structuredClone(def.valueFrom);
    // A resourceFieldRef without containerName means "this container": keep it pointing at the consumer.
    if (valueFrom.resourceFieldRef && !valueFrom.resourceFieldRef.containerName) {
      valueFrom.resourceFieldRef.containerName = container.name;
    }
    return { ok: true, env: { name: as, valueFrom } };
  }
  const earlier: Record<string, string> = {};
  for (const e of env.slice(0, index)) if (e.value !== undefined && !e.valueFrom) earlier[e.name] = e.value;
  return { ok: true, env: { name: as, value: expandEnvValue(def.value ?? "", earlier) } };
}
