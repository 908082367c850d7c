/**
 * The sidecar as it goes into a consumer pod: a native sidecar (an init container with `restartPolicy:
 * Always`, so a Job still completes when its main container ends), its environment, and the projected
 * ServiceAccount token the report receiver checks. Pure: the demo and the tests add it to pod templates by
 * hand today, and the mutating webhook will build the same thing from annotations.
 *
 * Settings are the ScaledObject's (its name, the kafka trigger's brokers, group, topic, lagThreshold and
 * offsetResetPolicy); the token's audience is the receiver's own, so the token is worth nothing elsewhere.
 */
import type { V1Container, V1EnvVar, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import { REPORTS_AUDIENCE } from "../reports/auth.js";

export const SIDECAR_CONTAINER = "lagscale-sidecar";
export const SIDECAR_TOKEN_VOLUME = "lagscale-reports-token";
export const SIDECAR_TOKEN_DIR = "/var/run/secrets/lagscale";
/** The kubelet refreshes the token at 80% of this; the sidecar re-reads the file before every push. */
export const SIDECAR_TOKEN_EXPIRATION_SECONDS = 3600;

/** Requests and limits when the pod's annotations give none (docs/sidecar.md has the figures behind them). */
export const SIDECAR_DEFAULT_RESOURCES = {
  requests: { cpu: "10m", memory: "48Mi" },
  limits: { memory: "96Mi" },
} as const;

export interface SidecarSettings {
  image: string;
  /** The ScaledObject in the pod's namespace whose target runs this pod. */
  scaledObject: string;
  bootstrapServers: string;
  consumerGroup: string;
  topic?: string;
  lagThreshold: number;
  offsetResetPolicy?: "latest" | "earliest";
  /** Where reports go, e.g. `https://lagscale-reports.lagscale.svc:9444/v1/reports`. */
  reportUrl: string;
  /**
   * Where the sidecar's metrics and health servers listen. Default all addresses (each pod has its own
   * network namespace); `$(POD_IP)` where pods share one (the local stack).
   */
  bindAddress?: string;
  /**
   * More environment (intervals, credentials), after the generated variables so that they may refer to them;
   * one with a generated variable's name replaces it (a variable defined twice is refused by server-side apply).
   */
  env?: V1EnvVar[];
  resources?: V1Container["resources"];
}

const fieldRef = (name: string, fieldPath: string): V1EnvVar => ({
  name,
  valueFrom: { fieldRef: { fieldPath } },
});

export function sidecarContainer(s: SidecarSettings): V1Container {
  const generated: V1EnvVar[] = [
    fieldRef("POD_NAME", "metadata.name"),
    fieldRef("POD_NAMESPACE", "metadata.namespace"),
    fieldRef("POD_IP", "status.podIP"),
    { name: "LAGSCALE_SCALED_OBJECT", value: s.scaledObject },
    { name: "KAFKA_BOOTSTRAP_SERVERS", value: s.bootstrapServers },
    { name: "LAGSCALE_CONSUMER_GROUP", value: s.consumerGroup },
    ...(s.topic !== undefined ? [{ name: "LAGSCALE_TOPIC", value: s.topic }] : []),
    { name: "LAGSCALE_LAG_THRESHOLD", value: String(s.lagThreshold) },
    { name: "LAGSCALE_OFFSET_RESET_POLICY", value: s.offsetResetPolicy ?? "latest" },
    { name: "LAGSCALE_REPORT_URL", value: s.reportUrl },
    { name: "LAGSCALE_TOKEN_FILE", value: `${SIDECAR_TOKEN_DIR}/token` },
    ...(s.bindAddress !== undefined ? [{ name: "LAGSCALE_BIND_ADDRESS", value: s.bindAddress }] : []),
  ];
  const extra = s.env ?? [];
  const overridden = new Set(extra.map((e) => e.name));
  const env = [...generated.filter((e) => !overridden.has(e.name)), ...extra];
  return {
    name: SIDECAR_CONTAINER,
    image: s.image,
    restartPolicy: "Always",
    env,
    volumeMounts: [{ name: SIDECAR_TOKEN_VOLUME, mountPath: SIDECAR_TOKEN_DIR, readOnly: true }],
    resources: s.resources ?? structuredClone(SIDECAR_DEFAULT_RESOURCES),
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    },
  };
}

export function sidecarTokenVolume(): V1Volume {
  return {
    name: SIDECAR_TOKEN_VOLUME,
    projected: {
      sources: [
        {
          serviceAccountToken: {
            audience: REPORTS_AUDIENCE,
            expirationSeconds: SIDECAR_TOKEN_EXPIRATION_SECONDS,
            path: "token",
          },
        },
      ],
    },
  };
}

/** The pod spec with the sidecar added (a copy); a spec that already has it gets it replaced, not doubled. */
export function withSidecar(spec: V1PodSpec, s: SidecarSettings): V1PodSpec {
  const out = structuredClone(spec);
  out.initContainers = [
    ...(out.initContainers ?? []).filter((c) => c.name !== SIDECAR_CONTAINER),
    sidecarContainer(s),
  ];
  out.volumes = [...(out.volumes ?? []).filter((v) => v.name !== SIDECAR_TOKEN_VOLUME), sidecarTokenVolume()];
  return out;
}
