/**
 * Reading this pod's part of the consumer group from Kafka.
 *
 * One reading, per report:
 *   1. DescribeGroups to the group's coordinator (found once with FindCoordinator, then cached);
 *   2. this pod's members: client host equal to POD_IP (kafkajs and the broker write it `/10.1.2.3`), and
 *      optionally a client id prefix; their assignments decoded (classic protocol, ConsumerProtocol bytes);
 *   3. the committed, log-end (and, for `earliest` without a commit, log-start) offsets of exactly those
 *      partitions, through core/kafka's batched reader: one OffsetFetch, one ListOffsets per leader broker.
 * Nothing assigned (or the group unreadable): no offsets are read. Topic metadata (partition leaders) is
 * cached by the reader for a minute.
 *
 * KIP-848 groups (the `consumer` group protocol) keep no classic assignment bytes, so they are reported
 * `unsupported`, never misread. How they are told apart: DescribeGroups below v6 (kafkajs speaks v0-v2)
 * answers a non-classic group as `Dead` with no members and no protocol type, like a group that does not
 * exist; only then the sidecar asks the coordinator's ListGroups, which does list the group when it exists.
 * An error GROUP_ID_NOT_FOUND (DescribeGroups v6+), a protocol type other than `consumer`, or a state no
 * classic group has, also mean unsupported.
 *
 * The I/O sits behind `PodKafka`; `readPod` and the selection functions are tested with a fake.
 */
import kafkajs from "kafkajs";
import type { Logger } from "pino";
import { BatchedLagReader } from "../core/kafka/batched-reader.js";
import { connectInternalCluster } from "../core/kafka/connection.js";
import { kafkaErrorName, kafkaErrorType, type InternalCluster } from "../core/kafka/kafkajs-internals.js";
import type { KafkaConnection } from "../core/kafka/types.js";
import type { OffsetResetPolicy, PartitionOffsets, TopicPartition } from "../core/lag/index.js";
import type { PodReading } from "./classify.js";
import { errorText } from "../core/errors.js";

const { AssignerProtocol } = kafkajs;

export interface GroupMember {
  readonly memberId: string;
  readonly clientId: string;
  /** As the broker reports it: `/10.1.2.3` (a leading slash) or `10.1.2.3`. */
  readonly clientHost: string;
  readonly memberAssignment: Buffer;
}

export interface GroupDescription {
  readonly state: string;
  readonly protocolType: string;
  readonly members: readonly GroupMember[];
  /** Set when DescribeGroups could not describe the group as a classic group. */
  readonly notClassic?: string | undefined;
}

/** The Kafka requests one reading needs; each method throws an Error with a readable message. */
export interface PodKafka {
  describeGroup(group: string): Promise<GroupDescription>;
  /** Whether the group's coordinator lists the group (ListGroups); only asked for a `Dead` group. */
  groupListed(group: string): Promise<boolean>;
  readOffsets(
    group: string,
    partitions: readonly TopicPartition[],
    needLogStart: boolean,
  ): Promise<readonly PartitionOffsets[]>;
  /** Kafka requests sent since the start, by API name. */
  requests(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

export interface ReadPodOptions {
  readonly consumerGroup: string;
  readonly podIp: string;
  readonly clientIdPrefix?: string | undefined;
  readonly topic?: string | undefined;
  readonly offsetResetPolicy: OffsetResetPolicy;
}

const CLASSIC_STATES = new Set(["Empty", "Stable", "PreparingRebalance", "CompletingRebalance", "Dead"]);

/** `/10.1.2.3` → `10.1.2.3`; IPv6 hosts lose brackets too. */
export function clientAddress(clientHost: string): string {
  return clientHost.replace(/^\//, "").replace(/^\[(.*)\]$/, "$1");
}

/** The members of the group that run in this pod. */
export function ownMembers(
  members: readonly GroupMember[],
  podIp: string,
  clientIdPrefix: string | undefined,
): GroupMember[] {
  return members.filter(
    (m) =>
      clientAddress(m.clientHost) === podIp &&
      (clientIdPrefix === undefined || m.clientId.startsWith(clientIdPrefix)),
  );
}

/** The partitions assigned to `members`, sorted, optionally kept to one topic. Throws on undecodable bytes. */
export function assignedPartitions(
  members: readonly GroupMember[],
  topic: string | undefined,
): TopicPartition[] {
  const seen = new Set<string>();
  const out: TopicPartition[] = [];
  for (const m of members) {
    // An empty assignment is what members have between JoinGroup and SyncGroup.
    if (m.memberAssignment.length === 0) continue;
    let decoded: ReturnType<typeof AssignerProtocol.MemberAssignment.decode>;
    try {
      decoded = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
    } catch (err) {
      throw new Error(
        `the assignment of member ${m.memberId} (${m.clientId}) is not a classic consumer assignment: ${errorText(err)}`,
      );
    }
    for (const [t, ids] of Object.entries(decoded?.assignment ?? {})) {
      if (topic !== undefined && t !== topic) continue;
      for (const partition of ids) {
        const key = `${t}/${partition}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ topic: t, partition });
      }
    }
  }
  return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

/** Why the description cannot be read as a classic consumer group, or undefined when it can. */
export function unsupportedReason(group: string, d: GroupDescription): string | undefined {
  const kip848 = "it uses the KIP-848 consumer group protocol, whose assignments this sidecar cannot read";
  if (d.notClassic !== undefined)
    return `consumer group '${group}' is not a classic group (${d.notClassic}): ${kip848}`;
  if (d.protocolType !== "" && d.protocolType !== "consumer") {
    return `consumer group '${group}' has protocol type '${d.protocolType}', not a Kafka consumer group`;
  }
  if (!CLASSIC_STATES.has(d.state)) {
    return `consumer group '${group}' is in state '${d.state}', which no classic group has: ${kip848}`;
  }
  return undefined;
}

/** One reading of this pod's partitions. Throws when Kafka cannot be read (the caller retries). */
export async function readPod(
  kafka: PodKafka,
  options: ReadPodOptions,
  now: () => number,
): Promise<PodReading> {
  const group = options.consumerGroup;
  const description = await kafka.describeGroup(group);
  let unsupported = unsupportedReason(group, description);
  if (unsupported === undefined && description.state === "Dead" && description.members.length === 0) {
    if (await kafka.groupListed(group)) {
      unsupported =
        `consumer group '${group}' exists but DescribeGroups describes it as Dead: it uses the KIP-848 ` +
        `consumer group protocol, whose assignments this sidecar cannot read`;
    }
  }
  if (unsupported !== undefined) {
    return { observedAt: now(), groupState: description.state, members: 0, partitions: [], unsupported };
  }
  const members = ownMembers(description.members, options.podIp, options.clientIdPrefix);
  const partitions = assignedPartitions(members, options.topic);
  const offsets =
    partitions.length === 0
      ? []
      : await kafka.readOffsets(group, partitions, options.offsetResetPolicy === "earliest");
  return { observedAt: now(), groupState: description.state, members: members.length, partitions: offsets };
}

/** The offsets-only reading the idle watch uses: the last known partitions, no DescribeGroups. */
export async function readOffsetsOnly(
  kafka: PodKafka,
  options: ReadPodOptions,
  last: PodReading,
  now: () => number,
): Promise<PodReading> {
  const partitions = last.partitions.map((p) => ({ topic: p.topic, partition: p.partition }));
  const offsets =
    partitions.length === 0
      ? []
      : await kafka.readOffsets(options.consumerGroup, partitions, options.offsetResetPolicy === "earliest");
  return { ...last, observedAt: now(), partitions: offsets };
}

// ---------------------------------------------------------------------------------------------------------
// The kafkajs implementation

interface DescribeGroupsResponse {
  groups: {
    errorCode: number;
    groupId: string;
    state: string;
    protocolType: string;
    members: GroupMember[];
  }[];
}

/** The two coordinator requests kafkajs's internal Broker has beyond core/kafka/kafkajs-internals' type. */
interface CoordinatorBroker {
  describeGroups(request: { groupIds: string[] }): Promise<DescribeGroupsResponse>;
  listGroups(): Promise<{ groups: { groupId: string; protocolType: string }[] }>;
}

function message(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const type = kafkaErrorType(err);
  return type !== undefined && !err.message.includes(type) ? `${err.message} (${type})` : err.message;
}

export interface KafkajsPodKafkaOptions {
  connection: KafkaConnection;
  clientId: string;
  logger: Logger;
}

export class KafkajsPodKafka implements PodKafka {
  private readonly counts: Record<string, number> = {};
  private readonly reader: BatchedLagReader;
  private cluster: InternalCluster | undefined;
  private coordinatorId: number | undefined;

  constructor(private readonly options: KafkajsPodKafkaOptions) {
    this.reader = new BatchedLagReader({
      clientId: options.clientId,
      logger: options.logger,
      onRequest: (_cluster, api) => this.count(api),
    });
  }

  private count(api: string): void {
    this.counts[api] = (this.counts[api] ?? 0) + 1;
  }

  requests(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  /** Connects once (ApiVersions, SASL, Metadata for the broker list); a failed attempt is dropped. */
  private async connected(): Promise<InternalCluster> {
    if (this.cluster !== undefined) return this.cluster;
    const cluster = await connectInternalCluster({
      connection: this.options.connection,
      clientId: this.options.clientId,
      timeouts: { connectionTimeoutMs: 3_000, requestTimeoutMs: 5_000, retries: 1 },
      log: this.options.logger,
      label: "sidecar",
      onRequest: (apiName) => this.count(apiName),
    });
    this.cluster = cluster;
    return cluster;
  }

  private async coordinator(group: string): Promise<CoordinatorBroker> {
    const cluster = await this.connected();
    if (this.coordinatorId === undefined) {
      const found = await cluster.findGroupCoordinatorMetadata({ groupId: group, coordinatorType: 0 });
      this.coordinatorId = found.coordinator.nodeId;
    }
    const broker = (await cluster.findBroker({
      nodeId: String(this.coordinatorId),
    })) as unknown as CoordinatorBroker;
    if (typeof broker.describeGroups !== "function" || typeof broker.listGroups !== "function") {
      throw new Error("kafkajs internals changed: the broker has no describeGroups() or listGroups()");
    }
    return broker;
  }

  /** Forgets the coordinator and, after a connection error, the connection: the next reading starts over. */
  private async reset(err: unknown): Promise<void> {
    this.coordinatorId = undefined;
    const name = kafkaErrorName(err) ?? "";
    if (name.includes("Connection") || name.includes("BrokerNotFound") || name.includes("Timeout")) {
      const cluster = this.cluster;
      this.cluster = undefined;
      await cluster?.disconnect().catch(() => undefined);
    }
  }

  async describeGroup(group: string): Promise<GroupDescription> {
    try {
      const broker = await this.coordinator(group);
      const { groups } = await broker.describeGroups({ groupIds: [group] });
      const g = groups.find((x) => x.groupId === group);
      if (g === undefined) throw new Error("the DescribeGroups response does not mention the group");
      return { state: g.state, protocolType: g.protocolType, members: g.members };
    } catch (err) {
      if (kafkaErrorType(err) === "GROUP_ID_NOT_FOUND") {
        return { state: "", protocolType: "", members: [], notClassic: message(err) };
      }
      await this.reset(err);
      throw new Error(`cannot describe consumer group '${group}': ${message(err)}`);
    }
  }

  async groupListed(group: string): Promise<boolean> {
    try {
      const broker = await this.coordinator(group);
      const { groups } = await broker.listGroups();
      return groups.some((g) => g.groupId === group);
    } catch (err) {
      await this.reset(err);
      throw new Error(`cannot list the groups of the coordinator of '${group}': ${message(err)}`);
    }
  }

  async readOffsets(
    group: string,
    partitions: readonly TopicPartition[],
    needLogStart: boolean,
  ): Promise<readonly PartitionOffsets[]> {
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) {
      let ids = byTopic.get(p.topic);
      if (ids === undefined) byTopic.set(p.topic, (ids = []));
      ids.push(p.partition);
    }
    // Issued in one tick, the reader serves all topics in one round (one OffsetFetch, one ListOffsets per leader).
    const results = await Promise.all(
      [...byTopic].map(([topic, ids]) =>
        this.reader.read({
          cluster: this.options.connection,
          consumerGroup: group,
          topic,
          partitionLimitation: ids,
          needLogStart,
        }),
      ),
    );
    const out: PartitionOffsets[] = [];
    for (const r of results) {
      if (!r.ok) throw new Error(`cannot read the offsets of consumer group '${group}': ${r.error}`);
      out.push(...r.partitions);
    }
    return out;
  }

  async close(): Promise<void> {
    const cluster = this.cluster;
    this.cluster = undefined;
    await Promise.all([this.reader.close(), cluster?.disconnect().catch(() => undefined)]);
  }
}
