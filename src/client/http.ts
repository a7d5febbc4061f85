import { errorFromAnswer, type StampedeClientError, transportError } from "./errors.ts";

/**
 * One HTTP exchange and the retry loop around it. Only what is known to be
 * transient is retried (the error's `retryable`: 429, 503, no answer), after
 * the server's Retry-After when it sent one, else after a backoff, and never
 * past the call's deadline: then the last error is the answer.
 */

/** A token, or a function asked before each attempt (so a refreshed token is used on retries). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface RetryInfo {
  /** The attempt that failed, from 1. */
  attempt: number;
  error: StampedeClientError;
  /** How long the client waits before the next attempt. */
  waitMs: number;
}

export interface CallOptions {
  /** Stops the call (and its waits): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Overrides the client's token for this call. */
  token?: TokenSource;
  /** How long the call may take, retries and waits included, in ms (default: the client's). */
  deadlineMs?: number;
  /** Told before each wait between attempts (a UI can say "busy, retrying in 2 s"). */
  onRetry?: (info: RetryInfo) => void;
}

export interface ApiRequest {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Answer =
  | {
      ok: true;
      status: number;
      body: unknown;
      /** When the attempt that got this answer was sent and answered (Date.now()), for clock offsets. */
      sentAt: number;
      receivedAt: number;
    }
  | { ok: false; error: StampedeClientError };

export interface TransportOptions {
  baseUrl: string;
  fetch: typeof fetch;
  token: TokenSource | undefined;
  deadlineMs: number;
  attemptTimeoutMs: number;
}

export class Transport {
  readonly options: TransportOptions;

  constructor(options: TransportOptions) {
    this.options = options;
  }

  url(path: string): string {
    return `${this.options.baseUrl.replace(/\/+$/, "")}${path}`;
  }

  async headers(options: CallOptions, extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const source = options.token ?? this.options.token;
    const token = typeof source === "function" ? await source() : source;
    return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
  }

  /** Sends `request`, retrying what is retryable until an answer or the deadline. */
  async call(request: ApiRequest, options: CallOptions = {}): Promise<Answer> {
    const deadline = Date.now() + (options.deadlineMs ?? this.options.deadlineMs);
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = Math.max(1, Math.min(this.options.attemptTimeoutMs, deadline - Date.now()));
      const answer = await this.once(request, options, timeoutMs);
      if (answer.ok || !answer.error.retryable) return answer;
      const waitMs = retryDelay(answer.error, attempt);
      if (Date.now() + waitMs >= deadline) return answer;
      options.onRetry?.({ attempt, error: answer.error, waitMs });
      await sleep(waitMs, options.signal);
    }
  }

  /** One attempt. Rejects only when the caller aborted; every other failure is an answer. */
  async once(request: ApiRequest, options: CallOptions, timeoutMs: number): Promise<Answer> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const hasBody = request.body !== undefined;
    const headers = await this.headers(options, {
      accept: "application/json",
      ...(hasBody ? { "content-type": "application/json" } : {}),
      ...request.headers,
    });
    const sentAt = Date.now();
    try {
      const response = await this.options.fetch(this.url(request.path), {
        method: request.method,
        headers,
        body: hasBody ? JSON.stringify(request.body) : undefined,
        signal,
      });
      const text = await response.text();
      const receivedAt = Date.now();
      let body: unknown = text;
      if ((response.headers.get("content-type") ?? "").includes("json") && text !== "") {
        try {
          body = JSON.parse(text);
        } catch {
          return { ok: false, error: errorFromAnswer(response.status, text, response.headers) };
        }
      }
      if (response.status >= 400)
        return { ok: false, error: errorFromAnswer(response.status, body, response.headers) };
      if (typeof body !== "object" || body === null)
        return { ok: false, error: errorFromAnswer(response.status, body, response.headers) };
      return { ok: true, status: response.status, body, sentAt, receivedAt };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      return { ok: false, error: transportError(timeout.aborted ? "timeout" : "network_error", error) };
    }
  }
}

/**
 * How long to wait before retrying after `error`: the server's Retry-After
 * when it sent one (at least 100 ms, so that "0" cannot make a busy loop),
 * else the backoff.
 */
export function retryDelay(error: StampedeClientError, attempt: number): number {
  return error.retryAfterMs !== undefined ? jitter(Math.max(100, error.retryAfterMs)) : backoff(attempt);
}

/** Exponential backoff from 200 ms, capped at 5 s, with jitter so that clients do not come back together. */
export function backoff(attempt: number): number {
  return jitter(Math.min(5000, 200 * 2 ** (attempt - 1)));
}

/** Up to 20% more, at random. */
function jitter(ms: number): number {
  return Math.round(ms * (1 + Math.random() * 0.2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A fresh Idempotency-Key: a random UUID (or 128 random bits in hex where randomUUID is missing). */
export function newIdempotencyKey(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** Path segments are user input (userIds may hold any printable character). */
export const segment = (value: string): string => encodeURIComponent(value);
