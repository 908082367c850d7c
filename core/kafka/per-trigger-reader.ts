/**
 * KEDA's way of reading lag, for comparison (`--lag-reader=per-trigger`, docs/scale.md): one Kafka client per
 * trigger, kept across polls, each asking for its own group's offsets (one OffsetFetch per group, as KEDA's
 * sarama client does). Each trigger gets a batched reader of its own, so the connection handling, the
 * protocol and the results are the shared reader's; only the sharing is gone. A trigger's client that has
 * not been used for the idle time closes its connection, as the shared reader's do.
 */
import { BatchedLagReader, type BatchedLagReaderOptions } from "./batched-reader.js";
import {
  addCounts,
  sumCounts,
  type LagReader,
  type LagReadResult,
  type LagRequest,
  type ReaderStats,
  type RequestCounts,
} from "./types.js";

export class PerTriggerLagReader implements LagReader {
  private readonly readers = new Map<string, BatchedLagReader>();
  private readonly options: BatchedLagReaderOptions;

  constructor(options: BatchedLagReaderOptions = {}) {
    this.options = { ...options, multiGroupRequests: false };
  }

  /** Clients built so far: one per trigger read. */
  get clients(): number {
    return this.readers.size;
  }

  read(request: LagRequest, trigger = ""): Promise<LagReadResult> {
    let reader = this.readers.get(trigger);
    if (!reader) this.readers.set(trigger, (reader = new BatchedLagReader(this.options)));
    return reader.read(request);
  }

  stats(): ReaderStats {
    const all = [...this.readers.values()].map((r) => r.stats());
    const requests: RequestCounts = {};
    for (const s of all) addCounts(requests, s.requests);
    return {
      requests,
      totalRequests: sumCounts(requests),
      rounds: all.reduce((n, s) => n + s.rounds, 0),
      clusters: all.flatMap((s) => s.clusters),
    };
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(readers.map((r) => r.close()));
  }
}
