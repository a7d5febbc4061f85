/**
 * A minimal Redis client for the scenarios' measurements (INFO memory,
 * MEMORY USAGE per key family) and cleanup (SCAN + UNLINK of one prefix),
 * so the bench scripts need no dependency. Never FLUSHALL: Redis is shared.
 */

import net from "node:net";

type Reply = string | number | null | Reply[];

export class MiniRedis {
  readonly #socket: net.Socket;
  #buffer = Buffer.alloc(0);
  readonly #waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (;;) {
        const parsed = parseReply(this.#buffer, 0);
        if (!parsed) return;
        this.#buffer = this.#buffer.subarray(parsed.end);
        const waiter = this.#waiting.shift();
        if (parsed.error) waiter?.reject(new Error(parsed.error));
        else waiter?.resolve(parsed.value);
      }
    });
    socket.on("error", (error) => {
      for (const w of this.#waiting.splice(0)) w.reject(error);
    });
  }

  static connect(url: string): Promise<MiniRedis> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: u.hostname, port: Number(u.port || 6379) }, () =>
        resolve(new MiniRedis(socket)),
      );
      socket.once("error", reject);
    });
  }

  command(...args: (string | number)[]): Promise<Reply> {
    let out = `*${args.length}\r\n`;
    for (const arg of args) {
      const s = String(arg);
      out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#socket.write(out);
    });
  }

  /** Every key under `prefix`, by SCAN (never KEYS). */
  async *scan(prefix: string): AsyncIterable<string> {
    let cursor = "0";
    do {
      const reply = (await this.command("SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", 1000)) as [
        string,
        string[],
      ];
      cursor = reply[0];
      yield* reply[1];
    } while (cursor !== "0");
  }

  async usedMemory(): Promise<number> {
    const info = String(await this.command("INFO", "memory"));
    return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
  }

  close(): void {
    this.#socket.destroy();
  }
}

function parseReply(buf: Buffer, at: number): { value: Reply; end: number; error?: string } | undefined {
  const lineEnd = buf.indexOf("\r\n", at);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString("utf8", at + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === "+") return { value: line, end: next };
  if (type === "-") return { value: null, end: next, error: line };
  if (type === ":") return { value: Number(line), end: next };
  if (type === "$") {
    const len = Number(line);
    if (len === -1) return { value: null, end: next };
    if (buf.length < next + len + 2) return undefined;
    return { value: buf.toString("utf8", next, next + len), end: next + len + 2 };
  }
  if (type === "*") {
    const count = Number(line);
    if (count === -1) return { value: null, end: next };
    const items: Reply[] = [];
    let pos = next;
    for (let i = 0; i < count; i++) {
      const item = parseReply(buf, pos);
      if (!item) return undefined;
      items.push(item.value);
      pos = item.end;
    }
    return { value: items, end: pos };
  }
  throw new Error(`unexpected RESP type ${type}`);
}

/** A key's family: its segments after the prefix, with anything id-like replaced by "*". */
export function keyFamily(key: string, prefix: string): string {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  return (
    prefix +
    rest
      .split(":")
      .map((part) => (/\d/.test(part) || part.length > 20 ? "*" : part))
      .join(":")
  );
}

/** MEMORY USAGE summed per key family, over every key of the prefix. */
export async function memoryByFamily(
  redis: MiniRedis,
  prefix: string,
): Promise<Record<string, { keys: number; bytes: number }>> {
  const families: Record<string, { keys: number; bytes: number }> = {};
  for await (const key of redis.scan(prefix)) {
    const family = keyFamily(key, prefix);
    const bytes = Number((await redis.command("MEMORY", "USAGE", key, "SAMPLES", 0)) ?? 0);
    const entry = families[family] ?? { keys: 0, bytes: 0 };
    entry.keys++;
    entry.bytes += bytes;
    families[family] = entry;
  }
  return families;
}

/** Removes every key under `prefix` (this run's, and only this run's). */
export async function deletePrefix(redis: MiniRedis, prefix: string): Promise<number> {
  let batch: string[] = [];
  let deleted = 0;
  for await (const key of redis.scan(prefix)) {
    batch.push(key);
    if (batch.length >= 500) {
      deleted += Number(await redis.command("UNLINK", ...batch));
      batch = [];
    }
  }
  if (batch.length) deleted += Number(await redis.command("UNLINK", ...batch));
  return deleted;
}
