/**
 * The demo job worker's settings and its message, read from the environment the lagscale dispatcher gives a
 * per-message Job's pod (`LAGSCALE_MESSAGE_*`, docs/scaledjob.md) plus the worker's own variables. Pure: every
 * malformed value is an error naming the variable, what it holds and what is accepted.
 */
import { parseBrokers, parseTopic } from "../../shared/env.js";

/** A message is marked to fail by this header with the value `true`: its Job's pod exits 1. */
export const FAIL_HEADER = "demo-fail";

export type ValueEncoding = "utf8" | "base64" | "none" | "omitted";

/** The Kafka message the Job was made for. */
export interface JobMessage {
  topic: string;
  partition: number;
  /** int64 as the dispatcher writes it: a decimal string. */
  offset: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  key: Buffer | null;
  headers: Record<string, string | string[]>;
  /** The value as passed in the environment; undefined when it was not inlined (`omitted`). */
  value: Buffer | null | undefined;
  valueSize: number;
}

export interface WorkerConfig {
  message: JobMessage;
  /** How long the work takes, in seconds. */
  workSeconds: number;
  /** Where to fetch a value that was not inlined; undefined when KAFKA_BROKER is unset. */
  brokers: string[] | undefined;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (v === undefined) {
    throw new Error(
      `${name} is not set: this worker runs as the pod of a per-message Job, whose environment the lagscale ` +
        "dispatcher sets (ScaledJob spec.dispatch.mode: perMessage)",
    );
  }
  return v;
}

function decode(name: string, text: string, encoding: string): Buffer {
  if (encoding === "utf8") return Buffer.from(text, "utf8");
  if (encoding === "base64") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw new Error(`${name} is not valid base64 although its encoding says base64`);
    }
    return Buffer.from(text, "base64");
  }
  throw new Error(`${name}_ENCODING=${JSON.stringify(encoding)} is not one of utf8, base64, none`);
}

function headersOf(text: string): Record<string, string | string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`LAGSCALE_MESSAGE_HEADERS is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error("LAGSCALE_MESSAGE_HEADERS must be a JSON object of header name to text");
  }
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"))) {
      out[k] = v as string | string[];
    } else {
      throw new Error(`LAGSCALE_MESSAGE_HEADERS: header ${JSON.stringify(k)} is not text or a list of texts`);
    }
  }
  return out;
}

function nonNegativeInt(name: string, text: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new Error(`${name}=${JSON.stringify(text)} is not a whole number ≥ 0`);
  return Number(text);
}

/** The message from `LAGSCALE_MESSAGE_*`. */
export function messageFromEnv(env: NodeJS.ProcessEnv): JobMessage {
  const topic = parseTopic(required(env, "LAGSCALE_MESSAGE_TOPIC"), "LAGSCALE_MESSAGE_TOPIC");
  const partition = nonNegativeInt("LAGSCALE_MESSAGE_PARTITION", required(env, "LAGSCALE_MESSAGE_PARTITION"));
  const offset = required(env, "LAGSCALE_MESSAGE_OFFSET");
  if (!/^\d{1,19}$/.test(offset) || BigInt(offset) > 2n ** 63n - 1n) {
    throw new Error(`LAGSCALE_MESSAGE_OFFSET=${JSON.stringify(offset)} is not a Kafka offset (int64 ≥ 0)`);
  }
  const timestamp = nonNegativeInt("LAGSCALE_MESSAGE_TIMESTAMP", required(env, "LAGSCALE_MESSAGE_TIMESTAMP"));
  const keyEncoding = required(env, "LAGSCALE_MESSAGE_KEY_ENCODING");
  const key =
    keyEncoding === "none"
      ? null
      : decode("LAGSCALE_MESSAGE_KEY", required(env, "LAGSCALE_MESSAGE_KEY"), keyEncoding);
  const headers = headersOf(required(env, "LAGSCALE_MESSAGE_HEADERS"));
  const valueSize = nonNegativeInt(
    "LAGSCALE_MESSAGE_VALUE_SIZE",
    required(env, "LAGSCALE_MESSAGE_VALUE_SIZE"),
  );
  const valueEncoding = required(env, "LAGSCALE_MESSAGE_VALUE_ENCODING");
  let value: Buffer | null | undefined;
  if (valueEncoding === "none") value = null;
  else if (valueEncoding === "omitted") value = undefined;
  else {
    value = decode("LAGSCALE_MESSAGE_VALUE", required(env, "LAGSCALE_MESSAGE_VALUE"), valueEncoding);
    if (value.length !== valueSize) {
      throw new Error(
        `LAGSCALE_MESSAGE_VALUE has ${value.length} bytes but LAGSCALE_MESSAGE_VALUE_SIZE says ${valueSize}`,
      );
    }
  }
  return { topic, partition, offset, timestamp, key, headers, value, valueSize };
}

/** WORK_SECONDS: a number of seconds ≥ 0 (fractions allowed), at most a day; default 1. */
export function parseWorkSeconds(text: string | undefined): number {
  if (text === undefined || text.trim() === "") return 1;
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n) || n > 86_400) {
    throw new Error(`WORK_SECONDS=${JSON.stringify(text)} is not a number of seconds between 0 and 86400`);
  }
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv): WorkerConfig {
  const message = messageFromEnv(env);
  const rawBrokers = env.KAFKA_BROKER?.trim();
  const brokers = rawBrokers ? parseBrokers(rawBrokers) : undefined;
  if (message.value === undefined && !brokers) {
    throw new Error(
      `the message's value (${message.valueSize} bytes) was not inlined and KAFKA_BROKER is not set: ` +
        "set KAFKA_BROKER so the worker can fetch the record, or raise the ScaledJob's " +
        "spec.dispatch.maxInlineValueBytes",
    );
  }
  return { message, workSeconds: parseWorkSeconds(env.WORK_SECONDS), brokers };
}

/** Whether the message is marked to fail: header `demo-fail: true` (case-insensitive value). */
export function markedToFail(m: JobMessage): boolean {
  const h = m.headers[FAIL_HEADER];
  const values = Array.isArray(h) ? h : h === undefined ? [] : [h];
  return values.some((v) => v.trim().toLowerCase() === "true");
}
