/**
 * Quantiles of a Prometheus histogram over a window: the cumulative bucket counts of two scrapes, subtracted,
 * give the observations made between them (a steady state apart from a start-up), and a quantile is then
 * read as Prometheus' histogram_quantile reads it (linear within the bucket it falls in).
 */

/** One `le` bucket: upper bound (Infinity for +Inf) and cumulative count. */
export interface Bucket {
  le: number;
  count: number;
}

/** The buckets of histogram `name` in Prometheus text (one series: the first seen per `le`), sorted by le. */
export function histogramBuckets(text: string, name: string): Bucket[] {
  const re = new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\} (\\S+)$`, "gm");
  const byLe = new Map<number, number>();
  for (const m of text.matchAll(re)) {
    const le = m[1] === "+Inf" ? Infinity : Number(m[1]);
    if (!byLe.has(le)) byLe.set(le, Number(m[2]));
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** The observations between two scrapes of the same histogram: `later` minus `earlier`, bucket by bucket. */
export function bucketsBetween(earlier: readonly Bucket[], later: readonly Bucket[]): Bucket[] {
  const before = new Map(earlier.map((b) => [b.le, b.count]));
  return later.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) }));
}

/** Observations in the buckets (the +Inf bucket's count). */
export function observations(buckets: readonly Bucket[]): number {
  return buckets.at(-1)?.count ?? 0;
}

/**
 * The q-quantile (0 < q < 1) as histogram_quantile computes it: linear interpolation inside the bucket the
 * rank falls in (from 0 for the first bucket); the highest finite bound when it falls in +Inf. NaN without
 * observations.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  const total = observations(buckets);
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
