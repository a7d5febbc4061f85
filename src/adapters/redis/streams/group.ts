/**
 * The consumer-group commands of a stream queue (./redis-stream-queue.ts):
 * reading (XREADGROUP), acknowledging, keeping entries one works on
 * (XCLAIM), taking over what silent consumers left pending (XAUTOCLAIM),
 * forgetting idle consumers, and how far the group is behind (lag()).
 */
import type { QueueLag } from "../../../ports/queue.ts";
import type { RedisClient } from "../connection.ts";
import {
  type Entry,
  groupByStream,
  type ReadReply,
  type StreamEntries,
  streamsOf,
  toRecord,
} from "./replies.ts";

/** One XREADGROUP over streams of one slot (BLOCK when `blockMs` is given): each stream's raw entries. */
export async function readGroup(
  connection: RedisClient,
  group: string,
  consumer: string,
  count: number,
  streams: readonly string[],
  from: string,
  blockMs?: number,
): Promise<[string, StreamEntries][]> {
  const args: (string | number)[] = ["GROUP", group, consumer, "COUNT", count];
  if (blockMs !== undefined) args.push("BLOCK", blockMs);
  args.push("STREAMS", ...streams, ...streams.map(() => from));
  return streamsOf((await connection.call("XREADGROUP", ...args)) as ReadReply);
}

export async function ack<T>(redis: RedisClient, group: string, batch: Entry<T>[]): Promise<void> {
  await Promise.all([...groupByStream(batch)].map(([stream, ids]) => redis.xack(stream, group, ...ids)));
}

/** Resets the idle time of entries this consumer is still working on (XCLAIM to itself). */
export async function touch<T>(
  redis: RedisClient,
  group: string,
  consumer: string,
  batch: Entry<T>[],
): Promise<void> {
  await Promise.all(
    [...groupByStream(batch)].map(([stream, ids]) =>
      redis.call("XCLAIM", stream, group, consumer, 0, ...ids, "JUSTID"),
    ),
  );
}

/**
 * Each stream's entries the group has not acknowledged: pending (delivered,
 * not acknowledged) and not delivered yet. `nameGroup`: a stream list read
 * at run time is one stream per campaign, and each row names its group.
 */
export function streamsLag(
  redis: RedisClient,
  streams: readonly string[],
  groupName: string,
  nameGroup: boolean,
): Promise<QueueLag[]> {
  const group = nameGroup ? { group: groupName } : {};
  return Promise.all(
    streams.map(async (stream) => {
      const groups = (await redis.call("XINFO", "GROUPS", stream)) as unknown[][];
      const info = groups.map(toRecord).find((g) => g.name === groupName);
      if (!info) return { source: stream, lag: await redis.xlen(stream), ...group };
      // pending: delivered, not acknowledged; lag: not delivered yet (null when Redis cannot tell).
      const undelivered =
        info.lag === null || info.lag === undefined
          ? await undeliveredOf(redis, stream, info)
          : Number(info.lag);
      return { source: stream, lag: Number(info.pending) + undelivered, ...group };
    }),
  );
}

async function undeliveredOf(
  redis: RedisClient,
  stream: string,
  info: Record<string, unknown>,
): Promise<number> {
  const after = `(${String(info["last-delivered-id"])}`;
  return (await redis.xrange(stream, after, "+", "COUNT", 100_000)).length;
}

/** XAUTOCLAIM: up to `count` entries pending longer than `idleMs`, now this consumer's, and the ids deleted meanwhile. */
export async function takeOver(
  redis: RedisClient,
  stream: string,
  group: string,
  consumer: string,
  idleMs: number,
  count: number,
): Promise<{ claimed: StreamEntries; deleted: string[] | undefined }> {
  const [, claimed, deleted] = (await redis.call(
    "XAUTOCLAIM",
    stream,
    group,
    consumer,
    idleMs,
    "0-0",
    "COUNT",
    count,
  )) as [string, StreamEntries, string[]];
  return { claimed, deleted };
}

/** Removes consumers that own nothing and were silent for an hour (every restart adds one), except `self`. */
export async function forgetIdleConsumers(
  redis: RedisClient,
  streams: readonly string[],
  group: string,
  self: string,
): Promise<void> {
  for (const stream of streams) {
    const consumers = (await redis.call("XINFO", "CONSUMERS", stream, group)) as unknown[][];
    for (const flat of consumers) {
      const info = toRecord(flat);
      if (Number(info.pending) === 0 && Number(info.idle) > 3_600_000 && info.name !== self)
        await redis.xgroup("DELCONSUMER", stream, group, String(info.name));
    }
  }
}
