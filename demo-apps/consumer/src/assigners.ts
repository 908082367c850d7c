/**
 * Partition assigners whose protocol names are kafka-go's, `range` and `roundrobin`, so that this consumer
 * and the Go original can share one consumer group. The broker only accepts a member whose protocols
 * overlap the group's; kafkajs's own assigner is called "RoundRobinAssigner" and matches no Go (or Java)
 * consumer. Whoever leads the group computes the assignment and every member takes what it is given, so any
 * valid plan interoperates; these follow kafka-go's (groupbalancer.go): per topic, members sorted by member
 * id. One difference: kafka-go walks the partitions in the order of the metadata response, which Kafka does
 * not sort, so its "range" blocks need not be contiguous by id; here partitions are sorted by id, as the
 * Java client's range assignor does.
 *
 * - range: member k of m gets the partitions with index in [k*n/m, (k+1)*n/m) (integer division), so
 *   the later members get the extra partitions: 5 partitions over 2 members → [0,1] and [2,3,4].
 * - roundrobin: partition index i goes to member i mod m: 5 over 2 → [0,2,4] and [1,3].
 */
import { AssignerProtocol, type Assigner, type GroupMemberAssignment, type PartitionAssigner } from "kafkajs";

export interface Subscriber {
  memberId: string;
  topics: string[];
}

/** memberId → topic → partitions. Every member appears, with an empty object when it gets nothing. */
export type Plan = Map<string, Record<string, number[]>>;

type Split = (partitions: number[], memberIndex: number, memberCount: number) => number[];

const rangeSplit: Split = (partitions, k, m) => {
  const from = Math.floor((k * partitions.length) / m);
  const to = Math.floor(((k + 1) * partitions.length) / m);
  return partitions.slice(from, to);
};

const roundRobinSplit: Split = (partitions, k, m) => partitions.filter((_, i) => i % m === k);

function plan(split: Split, members: Subscriber[], partitionsByTopic: Map<string, number[]>): Plan {
  const result: Plan = new Map(members.map((m) => [m.memberId, {}]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const partitions = [...(partitionsByTopic.get(topic) ?? [])].sort((a, b) => a - b);
    const subscribed = members
      .filter((m) => m.topics.includes(topic))
      .map((m) => m.memberId)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    subscribed.forEach((memberId, k) => {
      const mine = split(partitions, k, subscribed.length);
      if (mine.length > 0) result.get(memberId)![topic] = mine;
    });
  }
  return result;
}

export const planRange = (members: Subscriber[], partitionsByTopic: Map<string, number[]>): Plan =>
  plan(rangeSplit, members, partitionsByTopic);

export const planRoundRobin = (members: Subscriber[], partitionsByTopic: Map<string, number[]>): Plan =>
  plan(roundRobinSplit, members, partitionsByTopic);

function kafkaJsAssigner(
  name: "range" | "roundrobin",
  planner: (members: Subscriber[], partitionsByTopic: Map<string, number[]>) => Plan,
): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name,
    version: 0,
    async assign({ members, topics }): Promise<GroupMemberAssignment[]> {
      const subscribers = members.map(({ memberId, memberMetadata }) => {
        try {
          return { memberId, topics: AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics ?? [] };
        } catch (err) {
          throw new Error(`cannot read the subscription of group member ${memberId}: ${String(err)}`);
        }
      });
      const partitionsByTopic = new Map(
        topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((p) => p.partitionId)]),
      );
      const result = planner(subscribers, partitionsByTopic);
      return [...result].map(([memberId, assignment]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}

export const RangeAssigner = kafkaJsAssigner("range", planRange);
export const RoundRobinAssigner = kafkaJsAssigner("roundrobin", planRoundRobin);

/** kafka-go's default order of preference: range first, then roundrobin. */
export const GO_COMPATIBLE_ASSIGNERS: PartitionAssigner[] = [RangeAssigner, RoundRobinAssigner];
