/**
 * What an image is made of, for the content-hash tags of the test command's builds (pure; images.ts reads
 * the files). An image's inputs are its Dockerfile, its ignore file, every file its COPY/ADD instructions take
 * from the build context (minus what the ignore file excludes), the base image's id and the build arguments;
 * when none of them changed, the hashed tag exists and the build is skipped.
 */
import { createHash } from "node:crypto";

/** Sources that COPY and ADD take from the build context (not `--from=` another stage), in order. */
export function contextSources(dockerfile: string): string[] {
  // continuation lines belong to the instruction before them
  const instructions = dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const out: string[] = [];
  for (const line of instructions) {
    const m = /^(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!m) continue;
    const tokens = m[2]!.trim().split(/\s+/);
    const flags = tokens.filter((a) => a.startsWith("--"));
    if (flags.some((f) => f.startsWith("--from="))) continue;
    const operands = tokens.filter((a) => !a.startsWith("--")).join(" ");
    // the JSON form: COPY ["src", "dest"]
    const paths = operands.startsWith("[") ? (JSON.parse(operands) as string[]) : operands.split(" ");
    out.push(...paths.slice(0, -1));
  }
  return out;
}

/** `a/b/` and `./a/b` → `a/b`; the context root → "". */
export function normalizeSource(src: string): string {
  return src
    .replace(/^\.\/+/, "")
    .replace(/\/+$/, "")
    .replace(/^\.$/, "");
}

function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      // "**/" matches any number of folders, also none
      if (pattern[i + 2] === "/") {
        re += "(?:.*/)?";
        i += 2;
      } else {
        re += ".*";
        i += 1;
      }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * A .dockerignore as a predicate on context-relative paths: a path is ignored when it or a folder above it
 * matches the last pattern that names it (`!pattern` re-includes). Covers `*`, `?`, `**` and `!`.
 */
export function ignoreMatcher(ignoreFile: string): (relPath: string) => boolean {
  const rules = ignoreFile
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const body = normalizeSource(negate ? l.slice(1).trim() : l).replace(/^\/+/, "");
      return { negate, re: globToRegExp(body) };
    });
  return (relPath: string) => {
    const parts = normalizeSource(relPath).split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let ignored = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.negate;
    return ignored;
  };
}

export interface HashedInput {
  /** What it is: a file path, "dockerfile", "base", "arg:NAME". */
  name: string;
  content: string | Buffer;
}

/** A short, stable hash of the inputs (order-independent), usable as an image tag. */
export function inputsHash(inputs: HashedInput[]): string {
  const h = createHash("sha256");
  for (const i of [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const body = createHash("sha256").update(i.content).digest("hex");
    h.update(`${i.name}\0${body}\n`);
  }
  return h.digest("hex").slice(0, 12);
}

/** `lagscale/controller:dev` → `lagscale/controller:<hash>`. */
export function hashedTag(name: string, hash: string): string {
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  const repo = colon > slash ? name.slice(0, colon) : name;
  return `${repo}:${hash}`;
}
