/** The ScaledJob CRD (lagscale.io/v1alpha1): KEDA's v1alpha1 spec fields, names and defaults. */
import { Type, type Static } from "@sinclair/typebox";
import { ConditionsSchema, ObjectMetaSchema, TriggerActivitySchema, TriggersSchema } from "./common.js";
import { ArrayOf, GROUP_VERSION, Int32, Int64, Open, Optional, Str, StringEnum, Strict } from "./kit.js";

export const SCALED_JOB_SCALING_STRATEGIES = ["default", "custom", "accurate", "eager"] as const;
export type ScaledJobScalingStrategy = (typeof SCALED_JOB_SCALING_STRATEGIES)[number];
export const MULTIPLE_SCALERS_CALCULATIONS = ["max", "min", "avg", "sum"] as const;
export type MultipleScalersCalculation = (typeof MULTIPLE_SCALERS_CALCULATIONS)[number];
/** KEDA's CRD allows gradual and immediate; its documentation says default. All three are accepted. */
export const ROLLOUT_STRATEGIES = ["default", "immediate", "gradual"] as const;
export const PROPAGATION_POLICIES = ["background", "foreground"] as const;
export const DISPATCH_MODES = ["count", "perMessage"] as const;

/**
 * A batch/v1 JobSpec. Its scalar fields are described; the pod template and the other nested fields
 * are kept as given (`x-kubernetes-preserve-unknown-fields`), and the API server checks them when the
 * Job is created.
 */
export const JobTargetRefSchema = Open(
  {
    template: Open(
      {},
      { description: "The pod template of each Job (a core/v1 PodTemplateSpec), kept as given." },
    ),
    parallelism: Optional(Int32({ description: "Pods of one Job running at once.", minimum: 0 })),
    completions: Optional(Int32({ description: "Successful pods that complete one Job.", minimum: 0 })),
    activeDeadlineSeconds: Optional(
      Int64({ description: "Seconds a Job may run before it is terminated.", minimum: 0 }),
    ),
    backoffLimit: Optional(Int32({ description: "Retries before a Job is marked failed.", minimum: 0 })),
    ttlSecondsAfterFinished: Optional(
      Int32({ description: "Seconds after a Job finishes before it is deleted.", minimum: 0 }),
    ),
    completionMode: Optional(Str({ description: "NonIndexed or Indexed." })),
    suspend: Optional(Type.Boolean({ description: "Create Jobs suspended." })),
  },
  { description: "The Job to create for each unit of work (a batch/v1 JobSpec)." },
);

export const ScaledJobSpecSchema = Strict(
  {
    jobTargetRef: JobTargetRefSchema,
    pollingInterval: Optional(
      Int32({ description: "Seconds between two evaluations of the triggers.", minimum: 1, default: 30 }),
    ),
    successfulJobsHistoryLimit: Optional(
      Int32({ description: "Finished successful Jobs to keep.", minimum: 0, default: 100 }),
    ),
    failedJobsHistoryLimit: Optional(
      Int32({ description: "Failed Jobs to keep.", minimum: 0, default: 100 }),
    ),
    rolloutStrategy: Optional(
      StringEnum(["gradual", "immediate"] as const, {
        description: "Deprecated: use rollout.strategy. When set, it takes precedence.",
      }),
    ),
    rollout: Optional(
      Strict(
        {
          strategy: Optional(
            StringEnum(ROLLOUT_STRATEGIES, {
              description:
                "On a ScaledJob update: default or immediate deletes the running Jobs of the previous version; gradual lets them finish.",
              default: "default",
            }),
          ),
          propagationPolicy: Optional(
            StringEnum(PROPAGATION_POLICIES, {
              description: "Deletion propagation for Jobs deleted on rollout.",
              default: "background",
            }),
          ),
        },
        { description: "What happens to running Jobs when the ScaledJob changes." },
      ),
    ),
    envSourceContainerName: Optional(
      Str({
        description: "Container whose environment <name>FromEnv trigger parameters read. Default: the first.",
      }),
    ),
    minReplicaCount: Optional(
      Int32({ description: "Jobs kept running even without work.", minimum: 0, default: 0 }),
    ),
    maxReplicaCount: Optional(
      Int32({
        description: "Upper bound on Jobs (KEDA counts it above minReplicaCount).",
        minimum: 1,
        default: 100,
      }),
    ),
    scalingStrategy: Optional(
      Strict(
        {
          strategy: Optional(
            StringEnum(SCALED_JOB_SCALING_STRATEGIES, {
              description: "How many Jobs to start per poll: default, custom, accurate or eager.",
              default: "default",
            }),
          ),
          customScalingQueueLengthDeduction: Optional(
            Int32({ description: "custom strategy: subtracted from the queue length." }),
          ),
          customScalingRunningJobPercentage: Optional(
            Str({
              description:
                'custom strategy: fraction of running Jobs subtracted, a decimal string such as "0.5"; unparsable falls back to the default strategy.',
            }),
          ),
          pendingPodConditions: Optional(
            ArrayOf(Type.String(), {
              description:
                "Pod condition types that must all be True for a Job's pod not to count as pending; at most 32.",
              maxItems: 32,
            }),
          ),
          multipleScalersCalculation: Optional(
            StringEnum(MULTIPLE_SCALERS_CALCULATIONS, {
              description: "How several triggers combine: max (default), min, avg or sum.",
              default: "max",
            }),
          ),
        },
        { description: "How the number of new Jobs is computed." },
      ),
    ),
    dispatch: Optional(
      Strict(
        {
          mode: Optional(
            StringEnum(DISPATCH_MODES, {
              description:
                "count (KEDA's): start as many Jobs as the lag calls for, which then consume the topic themselves. perMessage: the controller reads the kafka trigger's topic as its consumer group and creates one Job per message, the message in the pod's environment; maxReplicaCount bounds the Jobs running at once.",
              default: "count",
            }),
          ),
          maxInlineValueBytes: Optional(
            Int32({
              description:
                "perMessage: message values up to this many bytes are passed in LAGSCALE_MESSAGE_VALUE; larger ones only by their coordinates.",
              minimum: 0,
              maximum: 65536,
              default: 4096,
            }),
          ),
        },
        { description: "lagscale's own: how Jobs are started for the trigger's work (docs/scaledjob.md)." },
      ),
    ),
    triggers: TriggersSchema,
  },
  { description: "How to run Jobs for the work the triggers see." },
);
export type ScaledJobSpec = Static<typeof ScaledJobSpecSchema>;

export const ScaledJobStatusSchema = Strict(
  {
    lastActiveTime: Optional(
      Str({ description: "Last time a trigger was active (RFC 3339).", format: "date-time" }),
    ),
    conditions: Optional(ConditionsSchema),
    Paused: Optional(Str({ description: '"true" while paused (KEDA\'s spelling, capital P).' })),
    triggersTypes: Optional(Str({ description: "Trigger types, comma-separated." })),
    authenticationsTypes: Optional(Str({ description: "Authentication references, comma-separated." })),
    externalMetricNames: Optional(ArrayOf(Type.String(), { description: "Metric names." })),
    triggersActivity: Optional(TriggerActivitySchema),
  },
  { description: "Observed state, written by the controller." },
);
export type ScaledJobStatus = Static<typeof ScaledJobStatusSchema>;

export const ScaledJobSchema = Strict(
  {
    apiVersion: Type.Literal(GROUP_VERSION, { description: "lagscale.io/v1alpha1" }),
    kind: Type.Literal("ScaledJob", { description: "ScaledJob" }),
    metadata: ObjectMetaSchema,
    spec: ScaledJobSpecSchema,
    status: Optional(ScaledJobStatusSchema),
  },
  {
    description:
      "Runs Kubernetes Jobs for the work a trigger sees (one Job per Kafka message with lagscale).",
  },
);
export type ScaledJob = Static<typeof ScaledJobSchema>;
