/**
 * Environment and query parsing shared by the demo producer and consumer. The Go originals read their
 * settings with `os.Getenv` and `strconv.Atoi`; these helpers reproduce those semantics where the apps must
 * behave the same, and turn malformed addresses into errors a person can act on.
 */
import { isIP } from "node:net";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Go's `strconv.Atoi` on a 64-bit platform: an optional `+` or `-`, then one or more ASCII digits, base 10,
 * within int64. Leading zeros are fine; spaces, underscores, `0x`, decimals and the empty string are not.
 * Returns undefined where Atoi returns an error (the value is a bigint so nothing is rounded).
 */
export function atoi(text: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
  const value = BigInt(text);
  if (value < INT64_MIN || value > INT64_MAX) return undefined;
  return value;
}

/** `os.Getenv` with the originals' "empty means default" rule (an empty variable counts as unset). */
export function envOr(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

/** A `host:port` (or `[ipv6]:port`) pair, validated. */
export interface HostPort {
  host: string;
  port: number;
}

function parsePort(text: string, what: string, allowZero: boolean): number {
  if (!/^[0-9]{1,5}$/.test(text)) {
    throw new Error(
      `${what}: port ${JSON.stringify(text)} is not a number between ${allowZero ? 0 : 1} and 65535`,
    );
  }
  const port = Number(text);
  if (port > 65535 || (!allowZero && port === 0)) {
    throw new Error(`${what}: port ${port} is out of range (${allowZero ? 0 : 1}..65535)`);
  }
  return port;
}

/** Splits `host:port`, `[v6]:port` or (when allowed) `:port`; the host may be empty only in the last form. */
function splitHostPort(
  text: string,
  what: string,
  allowEmptyHost: boolean,
  allowZeroPort: boolean,
): HostPort {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") {
      throw new Error(`${what}: ${JSON.stringify(text)} is not [ipv6]:port`);
    }
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) throw new Error(`${what}: ${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) throw new Error(`${what}: ${JSON.stringify(text)} has no port; write host:port`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) {
      throw new Error(`${what}: ${JSON.stringify(text)} looks like a bare IPv6 address; write [addr]:port`);
    }
  }
  if (host === "" && !allowEmptyHost) throw new Error(`${what}: ${JSON.stringify(text)} has no host`);
  if (/\s/.test(host)) throw new Error(`${what}: host ${JSON.stringify(host)} contains whitespace`);
  return { host, port: parsePort(portText, what, allowZeroPort) };
}

/**
 * KAFKA_BROKER: one `host:port` like the original, or a comma-separated list of them (surrounding spaces
 * and empty entries are ignored).
 */
export function parseBrokers(text: string, what = "KAFKA_BROKER"): string[] {
  const entries = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (entries.length === 0) throw new Error(`${what} is empty; set it to host:port[,host:port...]`);
  return entries.map((entry) => {
    const { host, port } = splitHostPort(entry, what, false, false);
    return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  });
}

/**
 * BIND_ADDRESS as Go's `net.Listen("tcp", addr)` takes it: `:port` (all interfaces), `host:port` or
 * `[v6]:port`. Port 0 picks a free port. Returns host undefined for "all interfaces".
 */
export function parseBindAddress(
  text: string,
  what = "BIND_ADDRESS",
): { host: string | undefined; port: number } {
  const { host, port } = splitHostPort(text.trim(), what, true, true);
  return { host: host === "" ? undefined : host, port };
}

/** POD_IP: optional; when set it must be a literal IPv4 or IPv6 address (it becomes the local address). */
export function parseOptionalIp(text: string | undefined, what = "POD_IP"): string | undefined {
  const value = text?.trim();
  if (!value) return undefined;
  if (isIP(value) === 0) throw new Error(`${what}=${JSON.stringify(text)} is not an IP address`);
  return value;
}

/** KAFKA_TOPIC: Kafka's own rule, 1-249 characters of [a-zA-Z0-9._-], and not "." or "..". */
export function parseTopic(text: string, what = "KAFKA_TOPIC"): string {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(text) || text === "." || text === "..") {
    throw new Error(
      `${what}=${JSON.stringify(text)} is not a valid Kafka topic name (1-249 characters of a-z A-Z 0-9 . _ -)`,
    );
  }
  return text;
}

/** KAFKA_CONSUMER_GROUP: any non-empty name without control characters. */
export function parseGroupId(text: string, what = "KAFKA_CONSUMER_GROUP"): string {
  if (text.trim() === "" || /\p{Cc}/u.test(text)) {
    throw new Error(
      `${what}=${JSON.stringify(text)} is not a usable group id (non-empty, no control characters)`,
    );
  }
  return text;
}
