/**
 * A container's environment, resolved the way the kubelet does: `envFrom` sources first, then `env` in order
 * (later wins), `$(VAR)` references expanded against what is defined so far, downward-API `fieldRef`s, and
 * `secretKeyRef`/`configMapKeyRef` read through lookups the caller gives (the API in the runner, maps in tests).
 */
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from "@kubernetes/client-node";

/** A problem with the container's configuration: the kubelet's `CreateContainerConfigError`. */
export class ContainerConfigError extends Error {
  override name = "ContainerConfigError";
}

export interface PodFacts {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

export interface EnvLookups {
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
}

/**
 * Kubernetes' `$(VAR)` expansion: `$(NAME)` becomes NAME's value when defined and stays as written when not;
 * `$$` is an escaped `$`; any other `$` is kept.
 */
export function expandVars(s: string, vars: Record<string, string>): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== "$" || i + 1 >= s.length) {
      out += ch;
      continue;
    }
    const next = s[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = s.indexOf(")", i + 2);
      if (close < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, close);
      const value = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined;
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The value of a downward-API fieldRef, as the kubelet gives it to env. */
export function fieldRefValue(pod: V1Pod, fieldPath: string, facts: PodFacts): string {
  const meta = pod.metadata ?? {};
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const bag = subscript[1] === "labels" ? meta.labels : meta.annotations;
    return bag?.[subscript[2]!] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return meta.name ?? "";
    case "metadata.namespace":
      return meta.namespace ?? "";
    case "metadata.uid":
      return meta.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName || facts.nodeName;
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.podIP":
    case "status.podIPs":
      return facts.podIP;
    case "status.hostIP":
    case "status.hostIPs":
      return facts.hostIP;
    default:
      throw new ContainerConfigError(
        `fieldRef ${JSON.stringify(fieldPath)} is not supported in env (supported: metadata.name, metadata.namespace, ` +
          `metadata.uid, metadata.labels['k'], metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, ` +
          `status.podIP(s), status.hostIP(s))`,
      );
  }
}

function secretValue(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, "base64").toString("utf8");
  return secret.stringData?.[key];
}

/**
 * The environment for one container. `base` comes first (runner-provided variables such as
 * KUBERNETES_SERVICE_HOST), then `envFrom`, then `env`. Throws ContainerConfigError for a missing
 * non-optional Secret/ConfigMap/key or an unsupported reference.
 */
export async function resolveEnv(
  pod: V1Pod,
  container: V1Container,
  facts: PodFacts,
  lookups: EnvLookups,
  base: Record<string, string> = {},
): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? "default";
  const env: Record<string, string> = { ...base };
  const who = `container ${container.name}`;

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? "";
      const cm = await lookups.getConfigMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`${who}: envFrom configmap "${name}" not found in namespace ${ns}`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) if (ENV_NAME.test(prefix + k)) env[prefix + k] = v;
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? "";
      const secret = await lookups.getSecret(ns, name);
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`${who}: envFrom secret "${name}" not found in namespace ${ns}`);
      }
      for (const k of Object.keys({ ...secret.data, ...secret.stringData })) {
        const v = secretValue(secret, k);
        if (v !== undefined && ENV_NAME.test(prefix + k)) env[prefix + k] = v;
      }
    }
  }

  for (const e of container.env ?? []) {
    if (!e.valueFrom) {
      env[e.name] = expandVars(e.value ?? "", env);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) {
      env[e.name] = fieldRefValue(pod, vf.fieldRef.fieldPath, facts);
    } else if (vf.configMapKeyRef) {
      const { name = "", key, optional } = vf.configMapKeyRef;
      const cm = await lookups.getConfigMap(ns, name);
      const v = cm?.data?.[key];
      if (v !== undefined) env[e.name] = v;
      else if (!optional) {
        throw new ContainerConfigError(
          cm
            ? `${who}: env ${e.name}: key "${key}" not found in configmap "${name}"`
            : `${who}: env ${e.name}: configmap "${name}" not found in namespace ${ns}`,
        );
      }
    } else if (vf.secretKeyRef) {
      const { name = "", key, optional } = vf.secretKeyRef;
      const secret = await lookups.getSecret(ns, name);
      const v = secret ? secretValue(secret, key) : undefined;
      if (v !== undefined) env[e.name] = v;
      else if (!optional) {
        throw new ContainerConfigError(
          secret
            ? `${who}: env ${e.name}: key "${key}" not found in secret "${name}"`
            : `${who}: env ${e.name}: secret "${name}" not found in namespace ${ns}`,
        );
      }
    } else if (vf.resourceFieldRef) {
      throw new ContainerConfigError(
        `${who}: env ${e.name}: resourceFieldRef is not supported by the pod runner`,
      );
    } else {
      throw new ContainerConfigError(`${who}: env ${e.name}: valueFrom names no source`);
    }
  }
  return env;
}

/** `command` and `args` with `$(VAR)` expanded against the container's environment. */
export function expandCommand(
  container: V1Container,
  env: Record<string, string>,
): { command?: string[]; args?: string[] } {
  return {
    ...(container.command ? { command: container.command.map((s) => expandVars(s, env)) } : {}),
    ...(container.args ? { args: container.args.map((s) => expandVars(s, env)) } : {}),
  };
}
