/**
 * The Go original writes through kafka-go's `LeastBytes` balancer: every message goes to the partition that
 * has so far received the fewest bytes (key + value) from this writer, ties going to the lowest partition
 * id; the key plays no part. The original makes a new writer per request, so the counters start at zero for
 * every request. kafkajs calls `createPartitioner` once per producer; the producer app makes one producer
 * per request, which gives the same per-request counters.
 */
import type { ICustomPartitioner, PartitionerArgs } from "kafkajs";

function byteLength(data: Buffer | string | null | undefined): number {
  if (data === null || data === undefined) return 0;
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

export const createLeastBytesPartitioner: ICustomPartitioner = () => {
  let partitions: number[] = [];
  let bytes: number[] = [];
  return ({ partitionMetadata, message }: PartitionerArgs): number => {
    const ids = partitionMetadata.map((p) => p.partitionId).sort((a, b) => a - b);
    // Like kafka-go, start the counters over when the partition set changes.
    if (ids.length !== partitions.length || ids.some((id, i) => id !== partitions[i])) {
      partitions = ids;
      bytes = ids.map(() => 0);
    }
    if (partitions.length === 0) throw new Error("the topic has no partitions in the metadata");
    let min = 0;
    for (let i = 1; i < bytes.length; i++) {
      if (bytes[i]! < bytes[min]!) min = i;
    }
    bytes[min]! += byteLength(message.key) + byteLength(message.value);
    return partitions[min]!;
  };
};
