/**
 * OffsetFetch v8 (KIP-709, Kafka ≥ 3.0): the committed offsets of many consumer groups in one request to
 * their coordinator. kafkajs 2.2.4 stops at v4 (one group a request). Written from Kafka's
 * OffsetFetchRequest.json / OffsetFetchResponse.json; v8 is flexible (compact strings and arrays, tagged
 * fields). See kafkajs-protocol.ts for how it is sent.
 *
 *   OffsetFetch Request (Version: 8) => [groups] require_stable TAG_BUFFER
 *     groups => group_id [topics] TAG_BUFFER          topics: null asks for every committed topic
 *       topics => name [partition_indexes] TAG_BUFFER
 *
 *   OffsetFetch Response (Version: 8) => throttle_time_ms [groups] TAG_BUFFER
 *     groups => group_id [topics] error_code TAG_BUFFER
 *       topics => name [partitions] TAG_BUFFER
 *         partitions => partition_index committed_offset committed_leader_epoch metadata error_code TAG_BUFFER
 */
import {
  newDecoder,
  newEncoder,
  readHeaderTags,
  writeHeaderTags,
  type KafkajsDecoder,
  type KafkajsEncoder,
  type ProtocolRequest,
} from "./kafkajs-protocol.js";

export const OFFSET_FETCH_API_KEY = 9;
export const OFFSET_FETCH_MULTI_GROUP_VERSION = 8;

export interface OffsetFetchGroupRequest {
  groupId: string;
  /** null: every topic the group has committed offsets for. */
  topics: { topic: string; partitions: number[] }[] | null;
}

export interface OffsetFetchGroupResponse {
  groupId: string;
  /** Group-level error code (0: none). */
  errorCode: number;
  topics: {
    topic: string;
    partitions: { partition: number; offset: string; leaderEpoch: number; errorCode: number }[];
  }[];
}

export interface OffsetFetchV8Response {
  throttleTime: number;
  groups: OffsetFetchGroupResponse[];
}

function writeCompactArray<T>(
  encoder: KafkajsEncoder,
  items: readonly T[] | null,
  write: (item: T) => void,
): void {
  if (items === null) {
    encoder.writeUVarInt(0);
    return;
  }
  encoder.writeUVarInt(items.length + 1);
  for (const item of items) write(item);
}

/** The request body (after kafkajs's header v1 fields), request header v2's tag section first. */
export function encodeOffsetFetchV8(groups: readonly OffsetFetchGroupRequest[]): KafkajsEncoder {
  const e = writeHeaderTags(newEncoder());
  writeCompactArray(e, groups, (g) => {
    e.writeUVarIntString(g.groupId);
    writeCompactArray(e, g.topics, (t) => {
      e.writeUVarIntString(t.topic);
      writeCompactArray(e, t.partitions, (p) => e.writeInt32(p));
      e.writeUVarInt(0);
    });
    e.writeUVarInt(0);
  });
  e.writeBoolean(false); // require_stable: KEDA reads committed offsets as they are
  e.writeUVarInt(0);
  return e;
}

function compactArray<T>(d: KafkajsDecoder, read: (d: KafkajsDecoder) => T): T[] {
  return d.readUVarIntArray(read) ?? [];
}

/** The response payload after the correlation id: response header v1's tags, then the body. */
export function decodeOffsetFetchV8(raw: Buffer): OffsetFetchV8Response {
  const d = newDecoder(raw);
  readHeaderTags(d);
  const throttleTime = d.readInt32();
  const groups = compactArray(d, (g) => {
    const groupId = g.readUVarIntString() ?? "";
    const topics = compactArray(g, (t) => {
      const topic = t.readUVarIntString() ?? "";
      const partitions = compactArray(t, (p) => {
        const partition = p.readInt32();
        const offset = p.readInt64().toString();
        const leaderEpoch = p.readInt32();
        p.readUVarIntString(); // metadata
        const errorCode = p.readInt16();
        p.readTaggedFields();
        return { partition, offset, leaderEpoch, errorCode };
      });
      t.readTaggedFields();
      return { topic, partitions };
    });
    const errorCode = g.readInt16();
    g.readTaggedFields();
    return { groupId, errorCode, topics };
  });
  d.readTaggedFields();
  return { throttleTime, groups };
}

/** The request as kafkajs's connection sends it. Errors stay in the answer, per group and partition. */
export function offsetFetchV8Request(
  groups: readonly OffsetFetchGroupRequest[],
): ProtocolRequest<OffsetFetchV8Response & { clientSideThrottleTime: number }> {
  return {
    request: {
      apiKey: OFFSET_FETCH_API_KEY,
      apiVersion: OFFSET_FETCH_MULTI_GROUP_VERSION,
      apiName: "OffsetFetch",
      encode: () => Promise.resolve(encodeOffsetFetchV8(groups)),
    },
    response: {
      decode: (raw) => {
        const decoded = decodeOffsetFetchV8(raw);
        // Since v4 the broker answers before throttling: kafkajs's queue throttles on this (KIP-219).
        return Promise.resolve({ ...decoded, clientSideThrottleTime: decoded.throttleTime });
      },
      parse: (data) => Promise.resolve(data),
    },
  };
}
