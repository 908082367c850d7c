/** The ScaledObject CRD (lagscale.io/v1alpha1): KEDA's v1alpha1 spec fields, names and defaults. */
import { Type, type Static } from "@sinclair/typebox";
import {
  ConditionsSchema,
  HpaBehaviorSchema,
  ObjectMetaSchema,
  TriggerActivitySchema,
  TriggersSchema,
} from "./common.js";
import {
  Bool,
  GROUP_VERSION,
  Int32,
  Int64,
  MapOf,
  MAX_OBJECT_NAME_LENGTH,
  Optional,
  Str,
  StringEnum,
  Strict,
} from "./kit.js";

export const FALLBACK_BEHAVIORS = [
  "static",
  "currentReplicas",
  "currentReplicasIfHigher",
  "currentReplicasIfLower",
  "scalingModifiers",
] as const;
export type FallbackBehavior = (typeof FALLBACK_BEHAVIORS)[number];

/** KEDA's CEL rule on ScaledObject.spec, and the same rule for runtime validation (`celMinLeMax`). */
export const SCALED_OBJECT_CEL_RULES = [
  {
    rule: "!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)",
    message: "minReplicaCount must be less than or equal to maxReplicaCount",
  },
];

export const ScaleTargetRefSchema = Strict(
  {
    name: Str({
      description: "Name of the workload to scale, in the ScaledObject's namespace.",
      minLength: 1,
      maxLength: MAX_OBJECT_NAME_LENGTH,
    }),
    apiVersion: Optional(Str({ description: "API version of the workload.", default: "apps/v1" })),
    kind: Optional(
      Str({
        description: "Kind of the workload: Deployment, StatefulSet, or any kind with a /scale subresource.",
        default: "Deployment",
      }),
    ),
    envSourceContainerName: Optional(
      Str({
        description:
          "Container whose environment <name>FromEnv trigger parameters read. Default: the first container.",
      }),
    ),
  },
  { description: "The workload to scale." },
);
export type ScaleTargetRef = Static<typeof ScaleTargetRefSchema>;

export const FallbackSchema = Strict(
  {
    failureThreshold: Int32({
      description: "Consecutive failed reads of a trigger after which the fallback replicas apply.",
      minimum: 0,
    }),
    replicas: Int32({ description: "Replicas while in fallback.", minimum: 0 }),
    behavior: Optional(
      StringEnum(FALLBACK_BEHAVIORS, {
        description:
          "static: use replicas; currentReplicas: keep the current count; currentReplicasIfHigher: max(current, replicas); currentReplicasIfLower: min(current, replicas); scalingModifiers: as the scaling modifiers formula says.",
        default: "static",
        crdDefault: true,
      }),
    ),
  },
  { description: "What to scale to when a trigger keeps failing." },
);
export type Fallback = Static<typeof FallbackSchema>;

export const ScalingModifiersSchema = Strict(
  {
    formula: Optional(
      Str({ description: "Formula over the trigger names that gives the composite metric." }),
    ),
    target: Optional(Str({ description: "Target of the composite metric, a number greater than 0." })),
    activationTarget: Optional(Str({ description: "Activation target of the composite metric, a number." })),
    metricType: Optional(
      StringEnum(["AverageValue", "Value"] as const, { description: "Metric type of the composite metric." }),
    ),
  },
  { description: "Composite metric built from several triggers." },
);

export const AdvancedSchema = Strict(
  {
    restoreToOriginalReplicaCount: Optional(
      Bool({
        description:
          "On deletion of the ScaledObject, set the target back to its replica count from before scaling.",
        default: false,
      }),
    ),
    horizontalPodAutoscalerConfig: Optional(
      Strict(
        {
          name: Optional(Str({ description: "Name KEDA would give its HPA; kept for compatibility." })),
          behavior: Optional(HpaBehaviorSchema),
        },
        { description: "HPA settings; lagscale applies the behavior itself and creates no HPA." },
      ),
    ),
    scalingModifiers: Optional(ScalingModifiersSchema),
    lagscale: Optional(
      Strict(
        {
          drainTimeSeconds: Optional(
            Int32({
              description:
                "Size the target so the backlog drains within this many seconds at the per-pod rate the sidecars measure; only ever raises what lagThreshold asks. Unset: off.",
              minimum: 1,
              maximum: 86400,
            }),
          ),
        },
        { description: "lagscale's own settings, which KEDA does not have." },
      ),
    ),
  },
  { description: "Advanced settings." },
);

export const ScaledObjectSpecSchema = Strict(
  {
    scaleTargetRef: ScaleTargetRefSchema,
    pollingInterval: Optional(
      Int32({ description: "Seconds between two evaluations of the triggers.", minimum: 1, default: 30 }),
    ),
    cooldownPeriod: Optional(
      Int32({
        description: "Seconds after the last active trigger before scaling to zero (or to idleReplicaCount).",
        minimum: 0,
        default: 300,
      }),
    ),
    initialCooldownPeriod: Optional(
      Int32({
        description: "Seconds after the ScaledObject's creation during which it is not scaled to zero.",
        minimum: 0,
        default: 0,
      }),
    ),
    idleReplicaCount: Optional(
      Int32({
        description: "Replicas while no trigger is active; must be below minReplicaCount. Unset: off.",
        minimum: 0,
      }),
    ),
    minReplicaCount: Optional(Int32({ description: "Lowest replica count.", minimum: 0, default: 0 })),
    maxReplicaCount: Optional(Int32({ description: "Highest replica count.", minimum: 1, default: 100 })),
    advanced: Optional(AdvancedSchema),
    triggers: TriggersSchema,
    fallback: Optional(FallbackSchema),
  },
  { description: "How to scale the target.", "x-kubernetes-validations": SCALED_OBJECT_CEL_RULES },
);
export type ScaledObjectSpec = Static<typeof ScaledObjectSpecSchema>;

export const GroupVersionKindResourceSchema = Strict(
  {
    group: Str({ description: "API group." }),
    version: Str({ description: "API version." }),
    kind: Str({ description: "Kind." }),
    resource: Str({ description: "Resource (plural)." }),
  },
  { description: "The resolved scale target." },
);

export const HealthStatusSchema = Strict(
  {
    numberOfFailures: Optional(Int32({ description: "Consecutive failed reads." })),
    status: Optional(StringEnum(["Happy", "Failing"] as const, { description: "Happy or Failing." })),
  },
  { description: "Health of one metric." },
);

export const ScaledObjectStatusSchema = Strict(
  {
    scaleTargetKind: Optional(
      Str({ description: "<group>/<version>.<Kind> of the target, e.g. apps/v1.Deployment." }),
    ),
    scaleTargetGVKR: Optional(GroupVersionKindResourceSchema),
    originalReplicaCount: Optional(
      Int32({ description: "Target replicas before lagscale first scaled it." }),
    ),
    lastActiveTime: Optional(
      Str({ description: "Last time a trigger was active (RFC 3339).", format: "date-time" }),
    ),
    externalMetricNames: Optional(
      Type.Array(Type.String(), { description: "Metric names, e.g. s0-kafka-orders." }),
    ),
    resourceMetricNames: Optional(
      Type.Array(Type.String(), { description: "Resource metric names (unused)." }),
    ),
    compositeScalerName: Optional(
      Str({ description: "Name of the composite metric, with scalingModifiers." }),
    ),
    conditions: Optional(ConditionsSchema),
    health: Optional(MapOf(HealthStatusSchema, { description: "Health per metric name, used by fallback." })),
    triggersActivity: Optional(TriggerActivitySchema),
    pausedReplicaCount: Optional(Int32({ description: "Replicas held while paused with paused-replicas." })),
    hpaName: Optional(Str({ description: "Name KEDA would give its HPA (lagscale creates none)." })),
    triggersTypes: Optional(Str({ description: "Trigger types, comma-separated." })),
    authenticationsTypes: Optional(Str({ description: "Authentication references, comma-separated." })),
    currentLag: Optional(Int64({ description: "Total lag of the kafka triggers at the last evaluation." })),
    currentReplicas: Optional(Int32({ description: "Replicas of the target at the last evaluation." })),
  },
  { description: "Observed state, written by the controller." },
);
export type ScaledObjectStatus = Static<typeof ScaledObjectStatusSchema>;

export const ScaledObjectSchema = Strict(
  {
    apiVersion: Type.Literal(GROUP_VERSION, { description: "lagscale.io/v1alpha1" }),
    kind: Type.Literal("ScaledObject", { description: "ScaledObject" }),
    metadata: ObjectMetaSchema,
    spec: ScaledObjectSpecSchema,
    status: Optional(ScaledObjectStatusSchema),
  },
  {
    description:
      "Scales a Deployment, StatefulSet or other scalable workload on Kafka lag or a cron schedule.",
  },
);
export type ScaledObject = Static<typeof ScaledObjectSchema>;
