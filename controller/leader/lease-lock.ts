/**
 * The Lease that holds the election, read and written through coordination.k8s.io/v1. Times are sent as
 * V1MicroTime (six fractional digits): the API server rejects a plain Date's three digits with 400.
 */
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import type { LeaderRecord } from "./decide.js";

/** A record as read, with what is needed to write it back only if nobody changed it meanwhile. */
export interface LockedRecord {
  record: LeaderRecord;
  resourceVersion: string;
}

/** Where the election record lives. LeaseLock is the real one; unit tests use an in-memory one. */
export interface LeaderLock {
  describe(): string;
  /** The current record, or undefined when the object does not exist. */
  get(): Promise<LockedRecord | undefined>;
  /** Creates the object; rejects (409) when someone else created it first. */
  create(record: LeaderRecord): Promise<LockedRecord>;
  /** Replaces the record if resourceVersion is still current; rejects (409) otherwise. */
  update(record: LeaderRecord, resourceVersion: string): Promise<LockedRecord>;
}

/** HTTP status of a client-node ApiException, or undefined for anything else (a network error, a timeout). */
export function apiStatus(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "number") return code;
  }
  return undefined;
}

/**
 * A MicroTime as the API server stores it. client-node declares these fields V1MicroTime but hands back the
 * string it received; both are accepted here.
 */
export function microTimeString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof Date) return new V1MicroTime(v.getTime()).toISOString();
  return undefined;
}

export function toMicroTime(iso: string | undefined): V1MicroTime | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new V1MicroTime(ms);
}

export function leaseToRecord(lease: V1Lease): LeaderRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: microTimeString(spec.acquireTime),
    renewTime: microTimeString(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

export class LeaseLock implements LeaderLock {
  /** The last object read or written: updates carry its metadata (labels, annotations) and its other spec fields. */
  private last: V1Lease | undefined;

  constructor(
    private readonly api: CoordinationV1Api,
    readonly namespace: string,
    readonly name: string,
  ) {}

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  async get(): Promise<LockedRecord | undefined> {
    try {
      const lease = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
      this.last = lease;
      return this.locked(lease);
    } catch (err) {
      if (apiStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async create(record: LeaderRecord): Promise<LockedRecord> {
    const lease = await this.api.createNamespacedLease({
      namespace: this.namespace,
      body: { metadata: { name: this.name, namespace: this.namespace }, spec: this.spec(record) },
    });
    this.last = lease;
    return this.locked(lease);
  }

  async update(record: LeaderRecord, resourceVersion: string): Promise<LockedRecord> {
    const base = this.last;
    const lease = await this.api.replaceNamespacedLease({
      name: this.name,
      namespace: this.namespace,
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          ...base?.metadata,
          managedFields: undefined,
          name: this.name,
          namespace: this.namespace,
          resourceVersion,
        },
        spec: { ...base?.spec, ...this.spec(record) },
      },
    });
    this.last = lease;
    return this.locked(lease);
  }

  private spec(record: LeaderRecord): NonNullable<V1Lease["spec"]> {
    return {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: toMicroTime(record.acquireTime),
      renewTime: toMicroTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    };
  }

  private locked(lease: V1Lease): LockedRecord {
    const resourceVersion = lease.metadata?.resourceVersion;
    if (!resourceVersion) throw new Error(`Lease ${this.describe()} came back without a resourceVersion`);
    return { record: leaseToRecord(lease), resourceVersion };
  }
}
