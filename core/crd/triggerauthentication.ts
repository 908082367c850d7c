/**
 * The TriggerAuthentication and ClusterTriggerAuthentication CRDs (lagscale.io/v1alpha1). Both share
 * KEDA's TriggerAuthenticationSpec. lagscale resolves parameters from Secrets, ConfigMaps and the target's
 * environment; KEDA's other sources (pod identity, Vault, cloud secret managers, ...) are accepted by the
 * schema so that a KEDA manifest applies, and `unsupportedAuthSources` says which of them cannot work.
 */
import { Type, type Static } from "@sinclair/typebox";
import { ObjectMetaSchema } from "./common.js";
import {
  ArrayOf,
  GROUP_VERSION,
  MAX_OBJECT_NAME_LENGTH,
  Open,
  Optional,
  Str,
  StringEnum,
  Strict,
} from "./kit.js";

/**
 * Most entries in each of secretTargetRef, configMapTargetRef and env: each may cost an API read per
 * resolution, and a kafka trigger reads about 20 parameters from a TriggerAuthentication.
 */
export const MAX_AUTH_REFS = 100;

export const POD_IDENTITY_PROVIDERS = ["azure-workload", "gcp", "aws", "aws-eks", "none"] as const;

const TargetRefSchema = (what: string) =>
  Strict(
    {
      parameter: Str({ description: "Trigger parameter to set, e.g. password or sasl." }),
      name: Str({
        description: `Name of the ${what}, in the namespace of the ScaledObject or ScaledJob.`,
        maxLength: MAX_OBJECT_NAME_LENGTH,
      }),
      key: Str({ description: `Key within the ${what}.`, maxLength: MAX_OBJECT_NAME_LENGTH }),
    },
    { description: `A trigger parameter read from a ${what} key.` },
  );

const unsupported = (what: string) =>
  Open({}, { description: `${what} (KEDA). Accepted for compatibility; lagscale cannot read it.` });

export const TriggerAuthenticationSpecSchema = Strict(
  {
    secretTargetRef: Optional(
      ArrayOf(TargetRefSchema("Secret"), {
        description: "Parameters read from Secrets; at most 100.",
        maxItems: MAX_AUTH_REFS,
      }),
    ),
    configMapTargetRef: Optional(
      ArrayOf(TargetRefSchema("ConfigMap"), {
        description: "Parameters read from ConfigMaps; at most 100.",
        maxItems: MAX_AUTH_REFS,
      }),
    ),
    env: Optional(
      ArrayOf(
        Strict(
          {
            parameter: Str({ description: "Trigger parameter to set." }),
            name: Str({ description: "Environment variable of the scale target's container." }),
            containerName: Optional(Str({ description: "Container to read it from. Default: the first." })),
          },
          { description: "A trigger parameter read from the target's environment." },
        ),
        {
          description: "Parameters read from the scale target's environment; at most 100.",
          maxItems: MAX_AUTH_REFS,
        },
      ),
    ),
    podIdentity: Optional(
      Open(
        {
          provider: StringEnum(POD_IDENTITY_PROVIDERS, { description: "Identity provider." }),
          identityId: Optional(Str({ description: "Identity id (Azure)." })),
          roleArn: Optional(Str({ description: "Role to assume (AWS)." })),
          identityOwner: Optional(
            StringEnum(["keda", "workload"] as const, { description: "Whose identity (AWS)." }),
          ),
        },
        { description: "Platform identity (KEDA). Accepted; lagscale supports only provider none." },
      ),
    ),
    filePath: Optional(
      Str({ description: "File with parameters as JSON (KEDA). Not supported by lagscale." }),
    ),
    hashiCorpVault: Optional(
      Open(
        { address: Optional(Str({ description: "Vault address." })) },
        { description: "HashiCorp Vault (KEDA). Accepted for compatibility; lagscale cannot read it." },
      ),
    ),
    azureKeyVault: Optional(unsupported("Azure Key Vault")),
    gcpSecretManager: Optional(unsupported("GCP Secret Manager")),
    awsSecretManager: Optional(unsupported("AWS Secrets Manager")),
    boundServiceAccountToken: Optional(
      ArrayOf(unsupported("Bound service account token"), {
        description: "Bound service account tokens (KEDA).",
      }),
    ),
    oauth2: Optional(unsupported("OAuth2 client credentials")),
  },
  { description: "Where trigger parameters such as credentials and certificates come from." },
);
export type TriggerAuthenticationSpec = Static<typeof TriggerAuthenticationSpecSchema>;

export const TriggerAuthenticationStatusSchema = Strict(
  {
    scaledobjects: Optional(Str({ description: "ScaledObjects that use it, comma-separated." })),
    scaledjobs: Optional(Str({ description: "ScaledJobs that use it, comma-separated." })),
  },
  { description: "Observed state, written by the controller." },
);

export const TriggerAuthenticationSchema = Strict(
  {
    apiVersion: Type.Literal(GROUP_VERSION, { description: "lagscale.io/v1alpha1" }),
    kind: Type.Literal("TriggerAuthentication", { description: "TriggerAuthentication" }),
    metadata: ObjectMetaSchema,
    spec: TriggerAuthenticationSpecSchema,
    status: Optional(TriggerAuthenticationStatusSchema),
  },
  { description: "Authentication parameters for triggers in one namespace." },
);
export type TriggerAuthentication = Static<typeof TriggerAuthenticationSchema>;

export const ClusterTriggerAuthenticationSchema = Strict(
  {
    apiVersion: Type.Literal(GROUP_VERSION, { description: "lagscale.io/v1alpha1" }),
    kind: Type.Literal("ClusterTriggerAuthentication", { description: "ClusterTriggerAuthentication" }),
    metadata: ObjectMetaSchema,
    spec: TriggerAuthenticationSpecSchema,
    status: Optional(TriggerAuthenticationStatusSchema),
  },
  {
    description:
      "Authentication parameters for triggers in any namespace; Secrets and ConfigMaps are read from lagscale's own namespace.",
  },
);
export type ClusterTriggerAuthentication = Static<typeof ClusterTriggerAuthenticationSchema>;

/**
 * The sources in a TriggerAuthentication spec that lagscale cannot resolve, each with a message that
 * names the field and what to use instead. Empty when all of them can be resolved.
 */
export function unsupportedAuthSources(spec: TriggerAuthenticationSpec): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const instead = "use secretTargetRef, configMapTargetRef or env";
  const provider = (spec.podIdentity as { provider?: string } | undefined)?.provider;
  if (provider !== undefined && provider !== "none") {
    out.push({
      path: "spec.podIdentity.provider",
      message: `pod identity provider ${JSON.stringify(provider)} is not supported by lagscale; ${instead}`,
    });
  }
  const fields = [
    ["filePath", "reading parameters from a file"],
    ["hashiCorpVault", "HashiCorp Vault"],
    ["azureKeyVault", "Azure Key Vault"],
    ["gcpSecretManager", "GCP Secret Manager"],
    ["awsSecretManager", "AWS Secrets Manager"],
    ["boundServiceAccountToken", "bound service account tokens"],
    ["oauth2", "OAuth2 client credentials"],
  ] as const;
  for (const [field, what] of fields) {
    if (spec[field] !== undefined) {
      out.push({
        path: `spec.${field}`,
        message: `${what} (spec.${field}) is not supported by lagscale; ${instead}`,
      });
    }
  }
  return out;
}
