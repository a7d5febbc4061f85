import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "./load.ts";

/** An answer taken as final, and how many times its request was sent. */
export interface FinalAnswer {
  status: number;
  body: Record<string, unknown>;
  /** 1 unless a 503 or a cut connection made the client send it again. */
  attempts: number;
}

/**
 * An HTTP client of one stampede API (`baseUrl`: a URL, or a function
 * returning the one to use now, for restarts) whose `send` retries what is
 * not definitive (503, a cut connection: anything else fails the test) for
 * up to `retryForMs`, as a client that lost its answer does. `http()` is the
 * client of the URL in use (`urlOf()`), for requests sent once.
 */
export function retryingClient(
  baseUrl: string | (() => string),
  definitive: ReadonlySet<number>,
  options: { retryForMs?: number; maxSockets?: number } = {},
) {
  const urlOf = typeof baseUrl === "string" ? () => baseUrl : baseUrl;
  const clients = new Map<string, ReturnType<typeof createClient>>();
  const http = () => {
    const url = urlOf();
    let c = clients.get(url);
    if (!c) {
      c = createClient(url, options.maxSockets ?? 256);
      clients.set(url, c);
    }
    return c;
  };
  const retryForMs = options.retryForMs ?? 30_000;
  const send = async (
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<FinalAnswer> => {
    const deadline = Date.now() + retryForMs;
    for (let attempts = 1; ; attempts++) {
      const answer = await http().request({ method, path, body, headers }, 10_000);
      if (definitive.has(answer.status)) return { status: answer.status, body: answer.body, attempts };
      assert.ok(
        answer.status === 503 || answer.status === 0,
        `${method} ${path}: unexpected ${answer.status} ${JSON.stringify(answer.body)}`,
      );
      if (Date.now() > deadline) assert.fail(`${method} ${path}: no definitive answer (${answer.status})`);
      await sleep(answer.status === 0 ? 50 : 150);
    }
  };
  const close = () => {
    for (const c of clients.values()) c.close();
  };
  return { http, send, close, urlOf, retryForMs };
}
