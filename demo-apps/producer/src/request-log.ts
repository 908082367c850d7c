/**
 * One JSON line per request on stdout with the fields and order of the Echo v4 Logger middleware's default
 * format, which the original uses: time, id, remote_ip, host, method, uri, user_agent, status, error,
 * latency (ns), latency_human (Go's duration string), bytes_in, bytes_out.
 */
import type { IncomingMessage } from "node:http";

/** Go's `time.Duration.String()` for a non-negative duration in nanoseconds. */
export function goDuration(ns: number): string {
  const n = Math.max(0, Math.round(ns));
  if (n === 0) return "0s";
  const trim = (v: number, digits: number) => v.toFixed(digits).replace(/\.?0+$/, "");
  if (n < 1_000) return `${n}ns`;
  if (n < 1_000_000) return `${trim(n / 1_000, 3)}µs`;
  if (n < 1_000_000_000) return `${trim(n / 1_000_000, 6)}ms`;
  const totalSeconds = n / 1e9;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = trim(totalSeconds % 60, 9);
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** Echo's RealIP: the first X-Forwarded-For entry, else X-Real-IP, else the peer address. */
export function realIp(req: IncomingMessage): string {
  const forwarded = req.headers["x-forwarded-for"];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
  if (first) return first;
  const real = req.headers["x-real-ip"];
  const realValue = Array.isArray(real) ? real[0] : real;
  if (realValue) return realValue;
  const remote = req.socket.remoteAddress ?? "";
  return remote.startsWith("::ffff:") ? remote.slice(7) : remote;
}

export interface RequestLogEntry {
  time: string;
  id: string;
  remote_ip: string;
  host: string;
  method: string;
  uri: string;
  user_agent: string;
  status: number;
  error: string;
  latency: number;
  latency_human: string;
  bytes_in: number;
  bytes_out: number;
}

export function requestLogEntry(
  req: IncomingMessage,
  status: number,
  error: string,
  startedNs: bigint,
  bytesOut: number,
): RequestLogEntry {
  const latency = Number(process.hrtime.bigint() - startedNs);
  const header = (name: string) => {
    const v = req.headers[name];
    return (Array.isArray(v) ? v[0] : v) ?? "";
  };
  const bytesIn = Number(header("content-length"));
  return {
    time: new Date().toISOString(),
    id: header("x-request-id"),
    remote_ip: realIp(req),
    host: header("host"),
    method: req.method ?? "",
    uri: req.url ?? "",
    user_agent: header("user-agent"),
    status,
    error,
    latency,
    latency_human: goDuration(latency),
    bytes_in: Number.isFinite(bytesIn) ? bytesIn : 0,
    bytes_out: bytesOut,
  };
}
