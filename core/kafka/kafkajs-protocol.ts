/**
 * The protocol-level companion of kafkajs-internals.ts: what lagscale needs to send Kafka requests that
 * kafkajs 2.2.4 does not implement (the multi-group OffsetFetch v8 of KIP-709 and the batched
 * FindCoordinator v4 of KIP-699) over kafkajs's own broker connections, with its SASL, TLS, request queue,
 * timeouts and request counting. A request here has kafkajs's shape (`apiKey`, `apiVersion`, `apiName`,
 * `encode()` → Encoder; a response `decode()` and `parse()`), written with kafkajs's Encoder and Decoder.
 *
 * kafkajs writes request header v1 and reads the response header's correlation id only; flexible versions
 * (KIP-482) need header v2 / response header v1, which add an empty tagged-field section. The codecs write
 * and read that section themselves (`writeHeaderTags`, `readHeaderTags`).
 *
 * Same kafkajs 2.2.4 pin as kafkajs-internals.ts (`assertKafkajsVersion`): whoever upgrades re-reads
 * `src/protocol/encoder.js`, `decoder.js`, `error.js` and `src/broker/index.js` (the private sender).
 */
import { createRequire } from "node:module";
import { assertKafkajsVersion } from "./kafkajs-internals.js";

/** kafkajs's Encoder, the methods the codecs use. */
export interface KafkajsEncoder {
  writeInt8(value: number): KafkajsEncoder;
  writeInt16(value: number): KafkajsEncoder;
  writeInt32(value: number): KafkajsEncoder;
  writeBoolean(value: boolean): KafkajsEncoder;
  writeUVarInt(value: number): KafkajsEncoder;
  /** COMPACT_STRING: length + 1 as an unsigned varint, then UTF-8 bytes. */
  writeUVarIntString(value: string): KafkajsEncoder;
  readonly buffer: Buffer;
}

/** kafkajs's Decoder, the methods the codecs use. */
export interface KafkajsDecoder {
  readInt16(): number;
  readInt32(): number;
  readInt64(): { toString(): string };
  readUVarInt(): number;
  /** COMPACT_NULLABLE_STRING: null for length 0. */
  readUVarIntString(): string | null;
  /** COMPACT_ARRAY: null for length 0. */
  readUVarIntArray<T>(reader: (decoder: KafkajsDecoder) => T): T[] | null;
  readTaggedFields(): unknown;
  canReadBytes(length: number): boolean;
}

/** A request in kafkajs's shape, as its connection sends it. */
export interface ProtocolRequest<T> {
  request: { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<KafkajsEncoder> };
  response: { decode(raw: Buffer): Promise<T>; parse(data: T): Promise<T> };
}

interface KafkajsModules {
  Encoder: new () => KafkajsEncoder;
  Decoder: new (buffer: Buffer) => KafkajsDecoder;
  createErrorFromCode(code: number): Error;
}

let modules: KafkajsModules | undefined;

function kafkajsModules(): KafkajsModules {
  if (modules) return modules;
  assertKafkajsVersion();
  const require = createRequire(import.meta.url);
  const Encoder = require("kafkajs/src/protocol/encoder") as KafkajsModules["Encoder"];
  const Decoder = require("kafkajs/src/protocol/decoder") as KafkajsModules["Decoder"];
  const { createErrorFromCode } = require("kafkajs/src/protocol/error") as Pick<
    KafkajsModules,
    "createErrorFromCode"
  >;
  return (modules = { Encoder, Decoder, createErrorFromCode });
}

export function newEncoder(): KafkajsEncoder {
  return new (kafkajsModules().Encoder)();
}

export function newDecoder(buffer: Buffer): KafkajsDecoder {
  return new (kafkajsModules().Decoder)(buffer);
}

/** kafkajs's error for a Kafka error code (a KafkaJSProtocolError whose `type` names the code). */
export function kafkaError(code: number): Error {
  return kafkajsModules().createErrorFromCode(code);
}

/** Request header v2's tagged fields (none), written at the start of a flexible request's body. */
export function writeHeaderTags(encoder: KafkajsEncoder): KafkajsEncoder {
  return encoder.writeUVarInt(0);
}

/** Response header v1's tagged fields, read before a flexible response's body. */
export function readHeaderTags(decoder: KafkajsDecoder): void {
  decoder.readTaggedFields();
}

const SEND_REQUEST_SYMBOL = "private:Broker:sendRequest";

/** The highest version of `apiKey` the broker announced in its ApiVersions answer, if it is connected. */
export function brokerMaxVersion(broker: object, apiKey: number): number | undefined {
  const versions = (broker as { versions?: Record<number, { maxVersion?: number } | undefined> | null })
    .versions;
  const max = versions?.[apiKey]?.maxVersion;
  return typeof max === "number" ? max : undefined;
}

/**
 * Sends `protocolRequest` through kafkajs's Broker: its private sender is what the Broker's own methods use
 * (the connection pool's queue, authentication, timeouts, `network.request` events).
 */
export async function sendThroughBroker<T>(broker: object, protocolRequest: ProtocolRequest<T>): Promise<T> {
  let target: object | null = broker;
  while (target !== null) {
    const symbol = Object.getOwnPropertySymbols(target).find((s) => s.description === SEND_REQUEST_SYMBOL);
    if (symbol !== undefined) {
      const send = (target as Record<symbol, unknown>)[symbol];
      if (typeof send !== "function") break;
      return (await (send as (r: ProtocolRequest<T>) => Promise<T>).call(broker, protocolRequest)) as T;
    }
    target = Object.getPrototypeOf(target) as object | null;
  }
  throw new Error(`kafkajs internals changed: the broker has no "${SEND_REQUEST_SYMBOL}" method`);
}
