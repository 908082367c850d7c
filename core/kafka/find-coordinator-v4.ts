/**
 * FindCoordinator v4 (KIP-699, Kafka ≥ 3.0): the coordinators of many consumer groups in one request.
 * kafkajs 2.2.4 stops at v2 (one key a request). Written from Kafka's FindCoordinatorRequest.json /
 * FindCoordinatorResponse.json; v4 is flexible. See kafkajs-protocol.ts for how it is sent.
 *
 *   FindCoordinator Request (Version: 4) => key_type [coordinator_keys] TAG_BUFFER
 *   FindCoordinator Response (Version: 4) => throttle_time_ms [coordinators] TAG_BUFFER
 *     coordinators => key node_id host port error_code error_message TAG_BUFFER
 */
import {
  newDecoder,
  newEncoder,
  readHeaderTags,
  writeHeaderTags,
  type KafkajsEncoder,
  type ProtocolRequest,
} from "./kafkajs-protocol.js";

export const FIND_COORDINATOR_API_KEY = 10;
export const FIND_COORDINATOR_BATCHED_VERSION = 4;
/** key_type of a consumer group (1 is a transactional id). */
export const GROUP_KEY_TYPE = 0;

export interface Coordinator {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

export interface FindCoordinatorV4Response {
  throttleTime: number;
  coordinators: Coordinator[];
}

export function encodeFindCoordinatorV4(groupIds: readonly string[]): KafkajsEncoder {
  const e = writeHeaderTags(newEncoder());
  e.writeInt8(GROUP_KEY_TYPE);
  e.writeUVarInt(groupIds.length + 1);
  for (const id of groupIds) e.writeUVarIntString(id);
  e.writeUVarInt(0);
  return e;
}

export function decodeFindCoordinatorV4(raw: Buffer): FindCoordinatorV4Response {
  const d = newDecoder(raw);
  readHeaderTags(d);
  const throttleTime = d.readInt32();
  const coordinators =
    d.readUVarIntArray((c) => {
      const key = c.readUVarIntString() ?? "";
      const nodeId = c.readInt32();
      const host = c.readUVarIntString() ?? "";
      const port = c.readInt32();
      const errorCode = c.readInt16();
      const errorMessage = c.readUVarIntString();
      c.readTaggedFields();
      return { key, nodeId, host, port, errorCode, errorMessage };
    }) ?? [];
  d.readTaggedFields();
  return { throttleTime, coordinators };
}

/** The request as kafkajs's connection sends it. Errors stay in the answer, per key. */
export function findCoordinatorV4Request(
  groupIds: readonly string[],
): ProtocolRequest<FindCoordinatorV4Response & { clientSideThrottleTime: number }> {
  return {
    request: {
      apiKey: FIND_COORDINATOR_API_KEY,
      apiVersion: FIND_COORDINATOR_BATCHED_VERSION,
      // kafkajs's name for API key 10, so counts read the same whichever version was sent.
      apiName: "GroupCoordinator",
      encode: () => Promise.resolve(encodeFindCoordinatorV4(groupIds)),
    },
    response: {
      decode: (raw) => {
        const decoded = decodeFindCoordinatorV4(raw);
        return Promise.resolve({ ...decoded, clientSideThrottleTime: decoded.throttleTime });
      },
      parse: (data) => Promise.resolve(data),
    },
  };
}
