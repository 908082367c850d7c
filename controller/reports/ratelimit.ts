/**
 * A token bucket per pod: a sidecar may push `ratePerSecond` reports a second on average and `burst` at
 * once. Its normal pace is far below (one report every one to ten seconds, a few more when lag crosses the
 * threshold), so only a broken or hostile sender meets the limit. Pure apart from the clock it is given.
 */

export interface RateLimitOptions {
  ratePerSecond?: number;
  burst?: number;
  /** Buckets kept at most; a full bucket is forgotten first (it carries no debt). Default 10 000. */
  maxKeys?: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxKeys: number;

  constructor(options: RateLimitOptions = {}) {
    this.rate = options.ratePerSecond ?? 5;
    this.burst = options.burst ?? 10;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Takes one token for `key` at `now` (epoch ms), or says how long until one is there. */
  take(key: string, now: number): RateDecision {
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxKeys) this.evict(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.rate)) };
  }

  private evict(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(k);
    }
    // Still full: drop the oldest (a lost debt only lets one pod burst once more).
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
  }
}
