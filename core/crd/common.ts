/** Schema pieces shared by the lagscale CRDs: object metadata, triggers, conditions, HPA behavior. */
import { Type, type Static } from "@sinclair/typebox";
import {
  ArrayOf,
  Bool,
  Int32,
  IntOrString,
  MapOf,
  MAX_OBJECT_NAME_LENGTH,
  Open,
  Optional,
  Str,
  StringEnum,
  StringMap,
  Strict,
} from "./kit.js";

/**
 * Object metadata, as far as lagscale reads it. The API server owns its schema; the generated CRD says
 * only `type: object` here, as Kubernetes requires.
 */
export const ObjectMetaSchema = Open(
  {
    name: Optional(Str({ description: "Name of the object." })),
    namespace: Optional(Str({ description: "Namespace of the object." })),
    uid: Optional(Str({ description: "UID of the object." })),
    resourceVersion: Optional(Str({ description: "Resource version." })),
    generation: Optional(Type.Integer({ description: "Generation of the spec." })),
    creationTimestamp: Optional(Str({ description: "Creation time (RFC 3339)." })),
    deletionTimestamp: Optional(Str({ description: "Deletion time (RFC 3339)." })),
    labels: Optional(StringMap({ description: "Labels." })),
    annotations: Optional(StringMap({ description: "Annotations, e.g. lagscale.io/paused." })),
    finalizers: Optional(ArrayOf(Type.String(), { description: "Finalizers." })),
  },
  { description: "Standard object metadata." },
);
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

export const AUTHENTICATION_REF_KINDS = ["TriggerAuthentication", "ClusterTriggerAuthentication"] as const;

export const AuthenticationRefSchema = Strict(
  {
    name: Str({
      description: "Name of the TriggerAuthentication or ClusterTriggerAuthentication.",
      maxLength: MAX_OBJECT_NAME_LENGTH,
    }),
    kind: Optional(
      StringEnum(AUTHENTICATION_REF_KINDS, {
        description: "Kind of the referenced object.",
        default: "TriggerAuthentication",
      }),
    ),
  },
  {
    description:
      "The TriggerAuthentication or ClusterTriggerAuthentication whose parameters the trigger reads (secrets, TLS, SASL).",
  },
);
export type AuthenticationRef = Static<typeof AuthenticationRefSchema>;

/** A trigger, as in KEDA's ScaleTriggers. lagscale runs the `kafka` and `cron` types. */
export const ScaleTriggerSchema = Strict(
  {
    type: Str({ description: "Trigger type: kafka or cron.", minLength: 1, maxLength: 64 }),
    name: Optional(
      Str({
        description: "Trigger name, unique within the object; used in status and metrics (a label value).",
        maxLength: MAX_OBJECT_NAME_LENGTH,
      }),
    ),
    useCachedMetrics: Optional(
      Bool({
        description: "Serve the value of the last poll instead of reading anew (not allowed for cron).",
      }),
    ),
    metadata: StringMap({
      description:
        "Trigger parameters, e.g. bootstrapServers, consumerGroup, topic, lagThreshold for kafka; a parameter named <name>FromEnv reads <name> from the target container's environment.",
    }),
    authenticationRef: Optional(AuthenticationRefSchema),
    metricType: Optional(
      Str({
        maxLength: 64,
        description:
          "AverageValue (default: the metric is divided by the replica count) or Value. Utilization is not supported. Must be unset in a ScaledJob.",
      }),
    ),
  },
  { description: "A source of scaling signal." },
);
export type ScaleTrigger = Static<typeof ScaleTriggerSchema>;

/** Most triggers in one object: each is read at every poll (a Kafka lag read for kafka). */
export const MAX_TRIGGERS = 100;

export const TriggersSchema = ArrayOf(ScaleTriggerSchema, {
  description: "The triggers; at least one, at most 100.",
  minItems: 1,
  maxItems: MAX_TRIGGERS,
});

export const ConditionSchema = Strict(
  {
    type: Str({ description: "Condition type: Ready, Active, Fallback or Paused." }),
    status: Str({ description: "True, False or Unknown." }),
    reason: Optional(Str({ description: "Machine-readable reason, e.g. ScaledObjectReady." })),
    message: Optional(Str({ description: "Human-readable explanation." })),
    lastTransitionTime: Optional(
      Str({ description: "When the status last changed (RFC 3339).", format: "date-time" }),
    ),
  },
  { description: "A status condition." },
);
export type Condition = Static<typeof ConditionSchema>;

export const ConditionsSchema = ArrayOf(ConditionSchema, { description: "Status conditions." });

export const TriggerActivitySchema = MapOf(
  Strict(
    { isActive: Bool({ description: "Whether the trigger was active at the last evaluation." }) },
    { description: "Activity of one trigger." },
  ),
  { description: "Activity per metric name." },
);

export const HPA_SELECT_POLICIES = ["Max", "Min", "Disabled"] as const;
export const HPA_POLICY_TYPES = ["Pods", "Percent"] as const;

export const HpaScalingPolicySchema = Strict(
  {
    type: StringEnum(HPA_POLICY_TYPES, {
      description: "Pods (an absolute count) or Percent (of current replicas).",
    }),
    value: Int32({
      description: "The amount of change the policy allows; greater than zero.",
      exclusiveMinimum: 0,
    }),
    periodSeconds: Int32({
      description: "The window, in seconds, over which the policy holds; 1 to 1800.",
      minimum: 1,
      maximum: 1800,
    }),
  },
  { description: "One scaling policy." },
);

export const HpaScalingRulesSchema = Strict(
  {
    stabilizationWindowSeconds: Optional(
      Int32({
        description:
          "Seconds of past recommendations considered (the highest when scaling down, the lowest when scaling up); 0 to 3600. Defaults: 0 up, 300 down.",
        minimum: 0,
        maximum: 3600,
      }),
    ),
    selectPolicy: Optional(
      StringEnum(HPA_SELECT_POLICIES, {
        description:
          "Which policy applies when several do: Max (default), Min, or Disabled (no scaling this way).",
      }),
    ),
    policies: Optional(
      ArrayOf(HpaScalingPolicySchema, {
        description:
          "Policies limiting the change per period. Defaults: up, the larger of 4 pods or 100% per 15 s; down, 100% per 15 s.",
        "x-kubernetes-list-type": "atomic",
      }),
    ),
    tolerance: Optional(
      IntOrString({
        description:
          "Ratio between current and desired metric under which nothing changes, as a non-negative quantity (e.g. 0.05 or 50m), at most 1000. Default 0.1.",
        pattern:
          "^\\+?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?[0-9]{1,2}))?$",
        maxLength: 64,
      }),
    ),
  },
  { description: "Scaling rules for one direction (autoscaling/v2 HPAScalingRules)." },
);
export type HpaScalingRules = Static<typeof HpaScalingRulesSchema>;

export const HpaBehaviorSchema = Strict(
  {
    scaleUp: Optional(HpaScalingRulesSchema),
    scaleDown: Optional(HpaScalingRulesSchema),
  },
  {
    description:
      "The autoscaling/v2 HorizontalPodAutoscalerBehavior; lagscale applies it itself when it scales the target.",
  },
);
export type HpaBehavior = Static<typeof HpaBehaviorSchema>;
