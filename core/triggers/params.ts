/**
 * Reads trigger parameters the way KEDA's typed scaler config does (keda-semantics.md §1.1): each
 * parameter has an ordered list of sources (the trigger's `metadata`, then the target container's
 * environment through `<name>FromEnv`, then the TriggerAuthentication's parameters); the first source
 * with a non-blank value wins, values are trimmed, a blank value counts as absent, booleans follow Go's
 * ParseBool, integers are JSON integers that fit in an int64, enums are case-sensitive. Every problem is
 * collected, so a person sees all of them at once.
 */

/** Where a parameter may come from, in KEDA's spelling (it shows up in error messages). */
export type ParamSource = "triggerMetadata" | "resolvedEnv" | "authParams";

/** What a trigger's parameters are read from. */
export interface TriggerParamsInput {
  /** The trigger's `metadata` map. */
  metadata: Readonly<Record<string, string>>;
  /** Environment of the scale target's container (`envSourceContainerName`), name → value. */
  resolvedEnv?: Readonly<Record<string, string>>;
  /** Parameters resolved from the trigger's TriggerAuthentication or ClusterTriggerAuthentication. */
  authParams?: Readonly<Record<string, string>>;
}

/** One problem with one parameter. `message` is KEDA's wording where KEDA has one, and names the parameter. */
export interface ParamError {
  parameter: string;
  message: string;
}

export type ParseResult<T> =
  { ok: true; value: T; warnings: string[] } | { ok: false; errors: ParamError[]; warnings: string[] };

/** Go's strconv.ParseBool: exactly these spellings. */
const GO_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

export function parseGoBool(value: string): boolean | undefined {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  return undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A JSON number that unmarshals into a Go int64: an optional minus, no leading zeros, no fraction or
 * exponent, within int64. Values beyond Number.MAX_SAFE_INTEGER are refused too, since they cannot be
 * held exactly (no lag threshold needs them).
 */
export function parseJsonInt64(value: string): number | undefined {
  if (!/^-?(0|[1-9][0-9]*)$/.test(value)) return undefined;
  const big = BigInt(value);
  if (big < INT64_MIN || big > INT64_MAX) return undefined;
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
  return Number(big);
}

/** Longest part of a value quoted in a message; the rest is counted, so a huge value cannot bloat the status, events or logs. */
export const MAX_QUOTED_VALUE = 64;

/** A value for a message: JSON-quoted, cut to MAX_QUOTED_VALUE characters with its length said. */
export function quoteValue(value: string): string {
  if (value.length <= MAX_QUOTED_VALUE) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED_VALUE))}... (${value.length} characters)`;
}

/** The same cut, unquoted, for messages that keep KEDA's own quoting. */
export function cutValue(value: string): string {
  return value.length <= MAX_QUOTED_VALUE
    ? value
    : `${value.slice(0, MAX_QUOTED_VALUE)}... (${value.length} characters)`;
}

function formatList(values: readonly string[]): string {
  return `[${values.join(" ")}]`;
}

/** Collects values and errors for one trigger. */
export class ParamReader {
  readonly errors: ParamError[] = [];
  readonly warnings: string[] = [];
  /** Parameters that were given but could not be parsed; later cross-field checks skip them. */
  private readonly failed = new Set<string>();

  private readonly input: TriggerParamsInput;

  constructor(input: TriggerParamsInput) {
    this.input = input;
  }

  /** The first non-blank value, trimmed, from the sources in order; undefined when absent everywhere. */
  raw(name: string, order: readonly ParamSource[]): string | undefined {
    for (const source of order) {
      let value: string | undefined;
      if (source === "triggerMetadata") value = own(this.input.metadata, name);
      else if (source === "authParams") value = own(this.input.authParams, name);
      else {
        const envName = own(this.input.metadata, `${name}FromEnv`)?.trim();
        if (envName) value = own(this.input.resolvedEnv, envName);
      }
      const trimmed = value?.trim();
      if (trimmed) return trimmed;
    }
    return undefined;
  }

  error(parameter: string, message: string): void {
    this.errors.push({ parameter, message });
  }

  /** True when the parameter was given but did not parse (so dependent checks should not pile on). */
  hasFailed(name: string): boolean {
    return this.failed.has(name);
  }

  private fail(name: string, value: string, why: string): undefined {
    this.failed.add(name);
    this.error(name, `unable to set param ${JSON.stringify(name)} value ${quoteValue(value)}: ${why}`);
    return undefined;
  }

  private missing(name: string, order: readonly ParamSource[]): undefined {
    this.failed.add(name);
    this.error(name, `missing required parameter ${JSON.stringify(name)} in ${formatList(order)}`);
    return undefined;
  }

  requiredString(name: string, order: readonly ParamSource[]): string | undefined {
    return this.raw(name, order) ?? this.missing(name, order);
  }

  optionalString(name: string, order: readonly ParamSource[]): string | undefined {
    return this.raw(name, order);
  }

  bool(name: string, order: readonly ParamSource[], fallback: boolean): boolean {
    const value = this.raw(name, order);
    if (value === undefined) return fallback;
    const parsed = parseGoBool(value);
    if (parsed === undefined) {
      this.fail(
        name,
        value,
        "not a boolean (true or false; Go's 1, t, T, TRUE, True, 0, f, F, FALSE, False work too)",
      );
      return fallback;
    }
    return parsed;
  }

  /** An int64; `fallback` undefined makes the parameter required. */
  int(name: string, order: readonly ParamSource[], fallback: number | undefined): number | undefined {
    const value = this.raw(name, order);
    if (value === undefined) return fallback ?? this.missing(name, order);
    const parsed = parseJsonInt64(value);
    if (parsed === undefined) return this.fail(name, value, "not an integer (a whole number such as 10)");
    return parsed;
  }

  /** A case-sensitive enum; `fallback` undefined makes it optional (undefined when absent). */
  enumValue<T extends string>(
    name: string,
    order: readonly ParamSource[],
    allowed: readonly T[],
    fallback?: T,
  ): T | undefined {
    const value = this.raw(name, order);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.failed.add(name);
      this.error(
        name,
        `parameter ${JSON.stringify(name)} value ${quoteValue(value)} must be one of ${formatList(allowed)}`,
      );
      return undefined;
    }
    return value as T;
  }

  /** A comma-separated list, each element trimmed (KEDA keeps empty elements; so do we). */
  requiredList(name: string, order: readonly ParamSource[]): string[] | undefined {
    const value = this.raw(name, order);
    if (value === undefined) return this.missing(name, order);
    return value.split(",").map((s) => s.trim());
  }
}

function own(map: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  if (!map || !Object.prototype.hasOwnProperty.call(map, key)) return undefined;
  const value = map[key];
  return typeof value === "string" ? value : undefined;
}

/** The trigger-level `metricType` (not a metadata key): AverageValue (default) or Value. */
export type MetricTargetType = "AverageValue" | "Value";

export const UTILIZATION_METRIC_TYPE_ERROR =
  "'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'";

/**
 * KEDA's GetMetricTargetType: empty means AverageValue, Utilization is refused with KEDA's message.
 * KEDA passes any other string through to the HPA, which then refuses it; lagscale applies the HPA
 * algorithm itself, so it refuses unknown values here with the allowed list.
 */
export function parseMetricType(
  metricType: string | undefined,
): { ok: true; value: MetricTargetType } | { ok: false; error: ParamError } {
  if (metricType === undefined || metricType === "") return { ok: true, value: "AverageValue" };
  if (metricType === "AverageValue" || metricType === "Value") return { ok: true, value: metricType };
  if (metricType === "Utilization") {
    return { ok: false, error: { parameter: "metricType", message: UTILIZATION_METRIC_TYPE_ERROR } };
  }
  return {
    ok: false,
    error: {
      parameter: "metricType",
      message: `metricType ${quoteValue(metricType)} must be one of [AverageValue Value]`,
    },
  };
}

/** KEDA's NormalizeString, used in metric names (`s0-kafka-my-topic`). */
export function normalizeMetricNamePart(s: string): string {
  return s.replace(/[/.:%()]/g, "-");
}

/** KEDA's GenerateMetricNameWithIndex: `s<index>-<name>`. */
export function metricNameWithIndex(triggerIndex: number, name: string): string {
  return `s${triggerIndex}-${name}`;
}
