/**
 * Label selectors in their string form (what `/scale` reports in status.selector, and what
 * formatLabelSelector writes), parsed and matched against an object's labels as apimachinery's
 * labels.Parse and Selector.Matches do, for reading a pod cache instead of asking the API server.
 *
 * Grammar: requirements separated by commas; each `key=value`, `key==value`, `key!=value`,
 * `key in (a,b)`, `key notin (a,b)`, `key` (exists) or `!key` (does not exist). The empty string selects
 * everything.
 */

export type Requirement =
  | { key: string; op: "in" | "notin"; values: ReadonlySet<string> }
  | { key: string; op: "exists" | "!exists" };

export type ParsedSelector = { ok: true; requirements: Requirement[] } | { ok: false; error: string };

/** Splits on commas outside parentheses. */
function splitRequirements(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((p) => p.trim());
}

function one(part: string): Requirement | string {
  let m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
  if (m) {
    const values = new Set((m[3] ?? "").split(",").map((v) => v.trim()));
    return { key: m[1] ?? "", op: m[2] === "in" ? "in" : "notin", values };
  }
  m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(part);
  if (m) return { key: m[1] ?? "", op: m[2] === "!=" ? "notin" : "in", values: new Set([m[3] ?? ""]) };
  m = /^(!?)\s*([^\s=!(),]+)$/.exec(part);
  if (m) return { key: m[2] ?? "", op: m[1] ? "!exists" : "exists" };
  return `label selector requirement "${part}" is not key=value, key!=value, key in (...), key notin (...), key or !key`;
}

export function parseLabelSelector(selector: string): ParsedSelector {
  if (selector.trim() === "") return { ok: true, requirements: [] };
  const requirements: Requirement[] = [];
  for (const part of splitRequirements(selector)) {
    const r = one(part);
    if (typeof r === "string") return { ok: false, error: r };
    requirements.push(r);
  }
  return { ok: true, requirements };
}

/** Every requirement holds for `labels` (notin and != also match a missing key, as in Kubernetes). */
export function matchesSelector(
  requirements: readonly Requirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const r of requirements) {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    if (r.op === "exists" && !has) return false;
    if (r.op === "!exists" && has) return false;
    if (r.op === "in" && !(has && v !== undefined && r.values.has(v))) return false;
    if (r.op === "notin" && has && v !== undefined && r.values.has(v)) return false;
  }
  return true;
}
