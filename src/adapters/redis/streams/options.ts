import type { Logger } from "pino";
import type { RedisClient } from "../connection.ts";

/** Turns a value into the one string field an entry carries, and back (throws on a layout it does not know). */
export interface StreamCodec<T> {
  encode(value: T): string;
  decode(data: string): T;
}

export interface RedisStreamQueueOptions<T> {
  /** Commands (auto-pipelined). */
  redis: RedisClient;
  /** A connection of its own for XREADGROUP BLOCK, which holds its connection while it waits. */
  blocking: RedisClient;
  /** The streams to consume: fixed, or re-read every `refreshMs` (e.g. one stream per campaign). */
  streams: readonly string[] | (() => Promise<string[]>);
  /** Where publish() appends a value (default: the first fixed stream). */
  streamFor?: (value: T) => string;
  group: string;
  consumer: string;
  codec: StreamCodec<T>;
  logger: Logger;
  /** publish() refuses past this many entries (QueueFullError). */
  maxLen: number;
  /** Entries pending this long with a consumer are taken over (XAUTOCLAIM): it is presumed dead. */
  claimIdleMs: number;
  /** Longest XREADGROUP BLOCK (default 200 ms): also how soon a new stream is read. */
  blockMs?: number;
  /** Take-over and trimming run this often (default 1000 ms). */
  maintenanceMs?: number;
  /** Stream list refresh (default 250 ms). */
  refreshMs?: number;
  /**
   * REDIS_WAIT_REPLICAS: a batch is handled only once this many replicas
   * hold the entries it was read from (see RedisStreamQueue).
   */
  replicas?: { count: number; timeoutMs: number };
}

export const DEFAULTS = { blockMs: 200, maintenanceMs: 1000, refreshMs: 250 } as const;

/** The field every entry's data travels in. */
export const DATA_FIELD = "d";

export class QueueFullError extends Error {
  constructor(stream: string) {
    super(`stream ${stream} holds its cap of entries; retry later`);
    this.name = "QueueFullError";
  }
}
