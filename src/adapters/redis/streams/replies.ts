/** Shapes of the stream commands' replies, and what the queue makes of them. */
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
