/** Shapes of the stream commands' replies, and what the queue makes of them. */
import type { Logger } from "pino";
import { DATA_FIELD, type StreamCodec } from "./options.ts";

export interface Entry<T> {
  stream: string;
  id: string;
  value: T;
}

export type StreamEntries = [string, string[] | null][];
/** RESP2: [[stream, entries], ...]; RESP3 (a map, flattened by ioredis): [stream, entries, ...]. */
export type ReadReply = [string, StreamEntries][] | (string | StreamEntries)[] | null;

export function streamsOf(reply: ReadReply): [string, StreamEntries][] {
  if (!reply || reply.length === 0) return [];
  if (typeof reply[0] !== "string") return reply as [string, StreamEntries][];
  const out: [string, StreamEntries][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([reply[i] as string, reply[i + 1] as StreamEntries]);
  return out;
}

export function groupByStream<T>(batch: Entry<T>[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of batch) {
    const ids = out.get(e.stream);
    if (ids) ids.push(e.id);
    else out.set(e.stream, [e.id]);
  }
  return out;
}

export function toRecord(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** Decodes entries' data field; an entry it cannot decode is logged once and left pending. */
export class EntryDecoder<T> {
  readonly #codec: StreamCodec<T>;
  readonly #logger: Logger;
  readonly #undecodable = new Set<string>();

  constructor(codec: StreamCodec<T>, logger: Logger) {
    this.#codec = codec;
    this.#logger = logger;
  }

  /** The stream's entries that carry a value this version can read. */
  entries(stream: string, raw: StreamEntries): Entry<T>[] {
    const out: Entry<T>[] = [];
    for (const [id, fields] of raw) {
      const entry = this.decode(stream, id, fields);
      if (entry) out.push(entry);
    }
    return out;
  }

  decode(stream: string, id: string, fields: string[] | null): Entry<T> | undefined {
    let data: string | undefined;
    for (let i = 0; fields && i + 1 < fields.length; i += 2)
      if (fields[i] === DATA_FIELD) data = fields[i + 1];
    if (data === undefined) return undefined; // deleted while pending: nothing to deliver
    try {
      return { stream, id, value: this.#codec.decode(data) };
    } catch (error) {
      // A layout this version does not know (a newer process wrote it): leave
      // it pending for a consumer that does; never acknowledge it unread.
      const key = `${stream} ${id}`;
      if (!this.#undecodable.has(key)) {
        this.#undecodable.add(key);
        this.#logger.error({ err: error, stream, id }, "cannot decode a queue entry; leaving it pending");
      }
      return undefined;
    }
  }
}
