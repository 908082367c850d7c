/**
 * `npx tsx test/bench/heap-summary.ts <steady.heapsnapshot> [<empty.heapsnapshot>]`: what a V8 heap snapshot
 * holds, by constructor (objects) or node type (strings, code, arrays…): count and self size, largest first,
 * and for the largest groups who holds them (retainer constructor and edge name). Given a second snapshot (the
 * controller with no ScaledObjects), prints the difference, which is what the objects cost. Used with
 * `LAGSCALE_BENCH_HEAPSNAPSHOT_DIR` of the controller bench (test/bench/controller.ts).
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
  retainers: Map<string, number>;
}

function groupKey(s: Snapshot, type: string, nameIndex: number): string {
  const name = s.strings[nameIndex] ?? "";
  // objects and closures by constructor/function name; the rest by type (every string its own name)
  if (type === "object" || type === "closure") return `${type} ${name}`;
  if (type === "native") return `native ${name.slice(0, 60)}`;
  return `(${type})`;
}

export function summarize(file: string): Map<string, Group> {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const [fType, fName, fSize, fEdges] = ["type", "name", "self_size", "edge_count"].map((f) =>
    nf.indexOf(f),
  ) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => ef.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const keys: string[] = [];
  const groups = new Map<string, Group>();
  for (let i = 0; i < s.nodes.length; i += N) {
    const key = groupKey(s, nodeTypes[s.nodes[i + fType] ?? 0] ?? "", s.nodes[i + fName] ?? 0);
    keys.push(key);
    const g = groups.get(key) ?? { count: 0, bytes: 0, retainers: new Map() };
    g.count++;
    g.bytes += s.nodes[i + fSize] ?? 0;
    groups.set(key, g);
  }
  // retainers: for each edge from node a to node b, count b's group under a's group and the edge's name
  let edge = 0;
  for (let a = 0; a < s.nodes.length / N; a++) {
    const edges = s.nodes[a * N + fEdges] ?? 0;
    for (let k = 0; k < edges; k++, edge += E) {
      const type = edgeTypes[s.edges[edge + eType] ?? 0] ?? "";
      if (type === "weak" || type === "shortcut") continue;
      const to = (s.edges[edge + eTo] ?? 0) / N;
      const nameOrIndex = s.edges[edge + eName] ?? 0;
      const edgeName =
        type === "element" || type === "hidden" ? `[${type}]` : (s.strings[nameOrIndex] ?? "").slice(0, 40);
      const g = groups.get(keys[to] ?? "");
      const r = `${keys[a] ?? ""} .${edgeName}`;
      g?.retainers.set(r, (g.retainers.get(r) ?? 0) + 1);
    }
  }
  return groups;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(2);
}

function main(): void {
  const [steadyFile, emptyFile] = process.argv.slice(2);
  if (!steadyFile) throw new Error("usage: heap-summary.ts <steady.heapsnapshot> [<empty.heapsnapshot>]");
  const steady = summarize(steadyFile);
  const empty = emptyFile ? summarize(emptyFile) : new Map<string, Group>();
  const total = (m: Map<string, Group>): number => [...m.values()].reduce((t, g) => t + g.bytes, 0);
  console.log(`heap: ${mib(total(steady))} MiB` + (emptyFile ? ` (empty: ${mib(total(empty))} MiB)` : ""));
  const rows = [...steady].map(([key, g]) => {
    const e = empty.get(key);
    return { key, g, count: g.count - (e?.count ?? 0), bytes: g.bytes - (e?.bytes ?? 0) };
  });
  rows.sort((a, b) => b.bytes - a.bytes);
  console.log("MiB (growth)   count (growth)   group");
  for (const r of rows.slice(0, 40)) {
    console.log(`${mib(r.bytes).padStart(8)}  ${String(r.count).padStart(12)}   ${r.key}`);
  }
  for (const r of rows.slice(0, 12)) {
    const top = [...r.g.retainers].sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(`\n${r.key} held by:`);
    for (const [k, c] of top) console.log(`  ${String(c).padStart(8)} × ${k}`);
  }
}

main();
