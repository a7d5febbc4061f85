/**
 * Consumer-group lag per partition, read from the broker (not from a
 * consumer's memory), so any process can report it: an API process for
 * /metrics, and a rebuild that must wait until the workers consumed up to
 * the end of the topic. A partition whose group never committed counts from
 * the start of its log (the group starts there: fallback "earliest").
 */

import { type Admin, ListOffsetTimestamps } from "@platformatic/kafka";
import type { PartitionLag } from "./types.ts";

export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const metadata = await admin.metadata({ topics: [topic] });
  const info = metadata.topics.get(topic);
  if (!info) throw new Error(`topic ${topic} does not exist`);
  return info.partitionsCount;
}

/** Offsets of every partition at a timestamp (LATEST: the end; EARLIEST: the log start). */
export async function topicOffsets(
  admin: Admin,
  topic: string,
  timestamp: bigint,
): Promise<Map<number, bigint>> {
  const count = await partitionCount(admin, topic);
  const partitions = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp }));
  const [listed] = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
  return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
}

export const endOffsets = (admin: Admin, topic: string) =>
  topicOffsets(admin, topic, ListOffsetTimestamps.LATEST);

/** The group's committed offsets on the topic (partitions it never committed are absent). */
export async function committedOffsets(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const groups = await admin.listConsumerGroupOffsets({ groups: [group], requireStable: false });
  const out = new Map<number, bigint>();
  for (const g of groups)
    for (const t of g.topics)
      if (t.name === topic)
        for (const p of t.partitions)
          if (p.committedOffset >= 0n) out.set(p.partitionIndex, p.committedOffset);
  return out;
}

export async function topicLag(admin: Admin, topic: string, group: string): Promise<PartitionLag[]> {
  const [end, start, committed] = await Promise.all([
    endOffsets(admin, topic),
    topicOffsets(admin, topic, ListOffsetTimestamps.EARLIEST),
    committedOffsets(admin, group, topic),
  ]);
  return [...end.keys()]
    .sort((a, b) => a - b)
    .map((partition) => {
      const e = end.get(partition)!;
      const s = start.get(partition) ?? 0n;
      const c = committed.get(partition) ?? s;
      const next = c < s ? s : c;
      return { partition, end: e, committed: next, lag: Number(e > next ? e - next : 0n) };
    });
}

/** True when the group has consumed every partition at least up to `targets`. */
export async function consumedThrough(
  admin: Admin,
  topic: string,
  group: string,
  targets: Map<number, bigint>,
): Promise<boolean> {
  const lag = await topicLag(admin, topic, group);
  const reached = new Map(lag.map((p) => [p.partition, p.committed]));
  for (const [partition, target] of targets) if ((reached.get(partition) ?? 0n) < target) return false;
  return true;
}
