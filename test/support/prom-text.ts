/** Reading Prometheus' text format in tests and benches: the total of a counter family. */

/** Total of a counter family in Prometheus text, over the series whose labels contain `labels` (all by default). */
export function counterTotal(text: string, name: string, labels = ""): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `))) continue;
    if (labels && !line.includes(labels)) continue;
    total += Number(line.split(" ").at(-1));
  }
  return total;
}
