/**
 * Server-Sent Events, written once for every stream the API serves: a claim
 * (/v1/claims/:id/events), a task (/v1/tasks/:id/events) and the dashboard
 * (/v1/admin/stream). Opening hijacks the reply (Fastify no longer answers
 * it), so every check that may refuse the request runs before.
 *
 * A stream whose client cannot keep up is dropped rather than buffered
 * without bound; a heartbeat comment keeps proxies from closing a quiet one.
 */
import type { ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Watched } from "../../services/watch.ts";

/** What a stream may hold unsent before its client is dropped. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** One event's bytes: serialize once, write to as many streams as need it. */
export const sseFrame = (event: string, data: unknown): string =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export class EventStream {
  readonly #raw: ServerResponse;
  readonly #heartbeat: NodeJS.Timeout | undefined;
  readonly #onEnd: (() => void)[] = [];
  #ended = false;

  /** Answers 200 text/event-stream; `heartbeatMs` (none when absent) spaces the comments. */
  static open(request: FastifyRequest, reply: FastifyReply, heartbeatMs?: number): EventStream {
    reply.hijack();
    reply.raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-request-id": String(request.id),
      "x-accel-buffering": "no",
    });
    return new EventStream(reply.raw, heartbeatMs);
  }

  private constructor(raw: ServerResponse, heartbeatMs: number | undefined) {
    this.#raw = raw;
    if (heartbeatMs !== undefined)
      this.#heartbeat = setInterval(() => this.write(": heartbeat\n\n"), heartbeatMs);
    // The client went away (or the response ended): release what the stream holds.
    raw.on("close", () => this.end());
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Called once when the stream ends, whoever ends it. */
  onEnd(callback: () => void): void {
    if (this.#ended) callback();
    else this.#onEnd.push(callback);
  }

  send(event: string, data: unknown): void {
    this.write(sseFrame(event, data));
  }

  write(bytes: string): void {
    if (this.#ended || this.#raw.destroyed) return;
    if (this.#raw.writableLength > MAX_BUFFERED_BYTES) {
      this.#raw.destroy();
      return;
    }
    this.#raw.write(bytes);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    if (!this.#raw.writableEnded) this.#raw.end();
    for (const callback of this.#onEnd.splice(0)) callback();
  }
}

export interface StatusStreamOptions<T> {
  heartbeatMs: number;
  /** The event's body. */
  present: (value: T) => unknown;
  /** The stream ends after a final value. */
  isFinal: (value: T) => boolean;
  /** Values can arrive out of order across processes: a stale one is skipped, never sent. */
  isStale?: (value: T, lastSent: T) => boolean;
}

/**
 * Streams a watched claim or task as `event: status` frames: its state at
 * once, then each change, ending after a final one. The watch is stopped
 * when the stream ends, whoever ends it.
 */
export function streamStatus<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  watched: Watched<T>,
  options: StatusStreamOptions<T>,
): void {
  const stream = EventStream.open(request, reply, options.heartbeatMs);
  stream.onEnd(() => watched.stop());
  let lastSent: T | undefined;
  const send = (value: T) => {
    if (stream.ended || (lastSent !== undefined && options.isStale?.(value, lastSent))) return;
    lastSent = value;
    stream.send("status", options.present(value));
    if (options.isFinal(value)) stream.end();
  };
  send(watched.current);
  watched.listen(send);
}
