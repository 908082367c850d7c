/**
 * Kubernetes resource quantities (`50m`, `0.05`, `1Ki`, `5e-2`) read as numbers, for the fields lagscale
 * computes with (the HPA behavior's `tolerance`). The grammar is apimachinery's; a quantity too long,
 * not finite as a number, or negative where a field needs it non-negative is refused with a message.
 */

/** Longest quantity string read; Kubernetes' own examples are a few characters. */
export const MAX_QUANTITY_LENGTH = 64;

const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE])?$/;

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export type QuantityResult = { ok: true; value: number } | { ok: false; message: string };

/** A quantity (string, or the integer an int-or-string field may hold) as a finite number. */
export function parseQuantity(q: unknown): QuantityResult {
  if (typeof q === "number") {
    return Number.isFinite(q)
      ? { ok: true, value: q }
      : { ok: false, message: `${q} is not a finite number` };
  }
  if (typeof q !== "string")
    return { ok: false, message: `must be a quantity string such as "0.05" or "50m"` };
  if (q.length > MAX_QUANTITY_LENGTH) {
    return {
      ok: false,
      message: `is ${q.length} characters long; a quantity has at most ${MAX_QUANTITY_LENGTH}`,
    };
  }
  const m = QUANTITY.exec(q);
  if (!m) {
    return {
      ok: false,
      message: `${JSON.stringify(q)} is not a quantity (a decimal number with an optional suffix, such as "0.05", "50m" or "5e-2")`,
    };
  }
  const [, sign, digits, suffix] = m;
  let value = Number(digits);
  if (suffix !== undefined) {
    value = suffix[0] === "e" || suffix[0] === "E" ? Number(`${digits}${suffix}`) : value * SUFFIX[suffix]!;
  }
  if (sign === "-") value = -value;
  if (!Number.isFinite(value)) return { ok: false, message: `${JSON.stringify(q)} is too large a quantity` };
  return { ok: true, value };
}

/**
 * The HPA behavior's `tolerance`: a non-negative quantity (Kubernetes refuses negative ones), of at
 * most MAX_TOLERANCE. Beyond 1 a tolerance only stops scaling in its direction; the cap keeps the
 * figure a person can read in the decision log.
 */
export const MAX_TOLERANCE = 1000;

export function parseTolerance(q: unknown): QuantityResult {
  const r = parseQuantity(q);
  if (!r.ok) return r;
  if (r.value < 0)
    return { ok: false, message: `${JSON.stringify(q)} is negative; a tolerance is 0 or more` };
  if (r.value > MAX_TOLERANCE) {
    return {
      ok: false,
      message: `${JSON.stringify(q)} is above ${MAX_TOLERANCE}; a tolerance of 1 already allows a 2x difference`,
    };
  }
  return r;
}
