import { errorFromAnswer, type StampedeClientError, transportError } from "./errors.ts";
import { type CallOptions, type RetryInfo, retryDelay, sleep, type Transport } from "./http.ts";
import { parseEvents } from "./sse.ts";

export interface WatchOptions extends Pick<CallOptions, "signal" | "token"> {
  /**
   * No byte for this long means a dead connection (stampede sends a heartbeat
   * every 15 s): reconnect. Default 45 s.
   */
  idleTimeoutMs?: number;
  /** Told before each reconnection, with what ended the last connection. */
  onReconnect?: (info: RetryInfo) => void;
}

export interface Watched<T> {
  path: string;
  /** Keeps the events that carry a value of this stream. */
  isValue: (value: unknown) => value is T;
  /** The value after which the server ends the stream. */
  isFinal: (value: T) => boolean;
}

/**
 * Follows an SSE stream of states until a final one, reconnecting when the
 * connection drops, goes silent or the server is briefly unavailable (after
 * its Retry-After or `retry:`, else a backoff), as EventSource would, but with
 * the Authorization header. stampede sends the current state on every
 * connection, so a reconnection misses nothing; a state already yielded is not
 * yielded again. A refusal that a retry cannot change (404, 401, 403) rejects.
 */
export async function* watchStream<T>(
  transport: Transport,
  watched: Watched<T>,
  options: WatchOptions = {},
): AsyncGenerator<T, void, undefined> {
  const idleMs = options.idleTimeoutMs ?? 45_000;
  let last: string | undefined;
  let attempt = 0;
  let serverRetryMs: number | undefined;
  for (;;) {
    const connection = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, connection.signal]) : connection.signal;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => connection.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    let failure: StampedeClientError;
    try {
      touch();
      const response = await transport.options.fetch(transport.url(watched.path), {
        headers: await transport.headers(options, { accept: "text/event-stream" }),
        signal,
      });
      if (!response.ok || !response.body) {
        const text = await response.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: errorFromAnswer calls it unexpected
        }
        failure = errorFromAnswer(response.status, body, response.headers);
      } else {
        const events = parseEvents(response.body, { activity: touch, retry: (ms) => (serverRetryMs = ms) });
        for await (const event of events) {
          let value: unknown;
          try {
            value = JSON.parse(event.data);
          } catch {
            continue;
          }
          if (!watched.isValue(value)) continue;
          attempt = 0;
          if (event.data !== last) {
            last = event.data;
            clearTimeout(idle); // the consumer's time is not the server's silence
            yield value;
            touch();
          }
          if (watched.isFinal(value)) return;
        }
        failure = transportError("network_error", new Error("the stream ended before a final state"));
      }
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      failure = transportError(connection.signal.aborted ? "timeout" : "network_error", error);
    } finally {
      clearTimeout(idle);
      connection.abort();
    }
    if (!failure.retryable) throw failure;
    attempt++;
    const waitMs =
      failure.retryAfterMs === undefined && serverRetryMs !== undefined
        ? serverRetryMs
        : retryDelay(failure, attempt);
    options.onReconnect?.({ attempt, error: failure, waitMs });
    await sleep(waitMs, options.signal);
  }
}
