/**
 * Loaded with `--import` (through NODE_OPTIONS) into every Node program a pod runs: `dns.lookup` and
 * `dns.promises.lookup`, which net, tls, http(s) and fetch use, answer Service names from the runner's
 * table (LAGSCALE_SERVICE_NAMES, re-read when it changes) and pass every other name on unchanged. TLS
 * keeps the name as server name, so certificates for `<svc>.<ns>.svc` verify.
 *
 * Compiled to JavaScript by the runner (see dns-hook-build.ts), so it also loads in programs without tsx.
 */
import dns from "node:dns";
import { readFileSync, statSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { parseNameTable, resolveServiceName, type NameTable } from "./service-names.js";

const file = process.env.LAGSCALE_SERVICE_NAMES;
const namespace = process.env.LAGSCALE_POD_NAMESPACE;
let table: NameTable = { services: {} };
let seen = "";

function current(): NameTable {
  if (!file) return table;
  try {
    const st = statSync(file);
    const stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    if (stamp !== seen) {
      table = parseNameTable(readFileSync(file, "utf8"));
      seen = stamp;
    }
  } catch {
    table = { services: {} };
    seen = "";
  }
  return table;
}

interface LookupOptions {
  family?: number | string;
  all?: boolean;
}

function answer(address: string, options: LookupOptions): dns.LookupAddress | dns.LookupAddress[] {
  return options.all ? [{ address, family: 4 }] : { address, family: 4 };
}

function wantsV6Only(options: LookupOptions): boolean {
  return options.family === 6 || options.family === "IPv6";
}

// dns.lookup has overloads Node's types cannot express as one signature; the wrapper forwards what it is given.
type AnyLookup = (...args: unknown[]) => unknown;
const originalLookup = dns.lookup as unknown as AnyLookup;
const originalPromise = dns.promises.lookup as unknown as AnyLookup;

function options(arg: unknown): LookupOptions {
  if (typeof arg === "number") return { family: arg };
  return typeof arg === "object" && arg !== null ? (arg as LookupOptions) : {};
}

function lookup(...args: unknown[]): unknown {
  const [host, maybeOptions] = args;
  const callback = args[args.length - 1];
  const opts = options(typeof maybeOptions === "function" ? undefined : maybeOptions);
  const address =
    typeof host === "string" && !wantsV6Only(opts)
      ? resolveServiceName(current(), host, namespace)
      : undefined;
  if (address === undefined || typeof callback !== "function") return originalLookup.apply(dns, args);
  const result = answer(address, opts);
  process.nextTick(() =>
    Array.isArray(result)
      ? (callback as (e: null, a: dns.LookupAddress[]) => void)(null, result)
      : (callback as (e: null, a: string, f: number) => void)(null, result.address, result.family),
  );
  return {};
}

async function lookupPromise(...args: unknown[]): Promise<unknown> {
  const [host, maybeOptions] = args;
  const opts = options(maybeOptions);
  const address =
    typeof host === "string" && !wantsV6Only(opts)
      ? resolveServiceName(current(), host, namespace)
      : undefined;
  if (address === undefined) return originalPromise.apply(dns.promises, args);
  return answer(address, opts);
}

dns.lookup = lookup as unknown as typeof dns.lookup;
dns.promises.lookup = lookupPromise as unknown as typeof dns.promises.lookup;
// `import { lookup } from "node:dns"` in ES modules sees the wrapper too.
syncBuiltinESMExports();
