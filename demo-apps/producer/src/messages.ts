/** What the producer writes, in the original's format. */

/**
 * Go's `time.Now().String()`, as far as JavaScript can tell it: `2006-01-02 15:04:05.999999999 +0000 UTC
 * m=+1.234567890`, in UTC, trailing zeros of the fraction dropped as Go does, and the monotonic reading
 * (`m=+`) taken as seconds since the process started. The clock has microsecond resolution here.
 */
export function goTimeString(epochNs: bigint, uptimeSeconds: number): string {
  const ms = Number(epochNs / 1_000_000n);
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const nanos = Number(epochNs % 1_000_000_000n);
  const fraction = nanos === 0 ? "" : "." + String(nanos).padStart(9, "0").replace(/0+$/, "");
  return `${date} ${time}${fraction} +0000 UTC m=+${uptimeSeconds.toFixed(9)}`;
}

/** Wall-clock time in nanoseconds since the epoch (microsecond resolution). */
export function nowEpochNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

export function messageFor(i: number, epochNs: bigint = nowEpochNs(), uptime: number = process.uptime()) {
  return { key: `Key-${i}`, value: `Message No: ${i}, Time: ${goTimeString(epochNs, uptime)}` };
}
