/** The `count` query parameter, with the original's `strconv.Atoi` semantics plus an upper bound. */
import { atoi } from "../../shared/env.js";

/** The original's fallback when `count` is absent or not an integer. */
export const DEFAULT_COUNT = 100;
/**
 * The original has no bound and starts one goroutine per message; a typo like count=10000000000 would take
 * the process down. One request may ask for at most this many messages.
 */
export const MAX_COUNT = 100_000;

export type CountDecision = { ok: true; count: number } | { ok: false; reason: string };

/**
 * absent, empty or not an integer (Atoi fails, including beyond int64) → 100; zero or negative → 0 (nothing
 * sent, still 200); 1..MAX_COUNT → itself; above MAX_COUNT → rejected with a reason.
 */
export function decideCount(raw: string | null): CountDecision {
  const parsed = raw === null ? undefined : atoi(raw);
  if (parsed === undefined) return { ok: true, count: DEFAULT_COUNT };
  if (parsed <= 0n) return { ok: true, count: 0 };
  if (parsed > BigInt(MAX_COUNT)) {
    return {
      ok: false,
      reason: `count=${parsed} is above the limit of ${MAX_COUNT} messages per request; send several requests instead`,
    };
  }
  return { ok: true, count: Number(parsed) };
}
