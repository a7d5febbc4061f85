import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually } from "./wait.ts";

/**
 * A small load generator for tests: fires requests over real sockets with a
 * concurrency cap (Infinity = all at once) and records every answer. The
 * benchmark tool (stampede bench) is the full-featured one; tests only need
 * status codes, bodies and the absence of connection errors.
 */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  error?: string;
  ms: number;
}

export interface RequestSpec {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export function createClient(baseUrl: string, maxSockets = Infinity) {
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const request = (spec: RequestSpec, timeoutMs = 30_000): Promise<Answer> =>
    new Promise((resolve) => {
      // Time from the moment a socket carries the request: waiting for a
      // free socket in this client is the client's queue, not the server's.
      let started = performance.now();
      const payload = spec.body === undefined ? undefined : JSON.stringify(spec.body);
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: spec.method,
          path: spec.path,
          agent,
          headers: {
            ...(payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
            ...spec.headers,
          },
          timeout: timeoutMs,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => {
            let body: Record<string, unknown> = {};
            try {
              body = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
            } catch {
              body = { raw: text };
            }
            resolve({
              status: res.statusCode ?? 0,
              body,
              headers: res.headers,
              ms: performance.now() - started,
            });
          });
          res.on("error", (e) => resolve({ status: 0, body: {}, headers: {}, error: e.message, ms: 0 }));
        },
      );
      req.on("socket", () => {
        started = performance.now();
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e) =>
        resolve({ status: 0, body: {}, headers: {}, error: e.message, ms: performance.now() - started }),
      );
      req.end(payload);
    });

  /** Runs all specs with at most `concurrency` in flight; answers in spec order. */
  const fire = (specs: RequestSpec[], concurrency = Infinity): Promise<Answer[]> =>
    pool(specs, concurrency, (spec) => request(spec));

  return { request, fire, close: () => agent.destroy() };
}

/** Runs `work` over `items`, at most `concurrency` at a time; results in the items' order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

/**
 * Reads a sample every `everyMs` until stopped; the samples `isOver` finds
 * (an invariant broken) are kept, with how many were read.
 */
export function sampleUntilStopped<S>(
  read: () => Promise<S | undefined>,
  isOver: (sample: S) => boolean,
  everyMs: number,
) {
  let running = true;
  let samples = 0;
  const over: S[] = [];
  const done = (async () => {
    while (running) {
      const s = await read().catch(() => undefined);
      if (s) {
        samples++;
        if (isOver(s)) over.push(s);
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { samples, over };
    },
  };
}

export function countBy<T>(items: readonly T[], key: (item: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = String(key(item));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** A campaign's counters (GET /v1/campaigns/:id). */
export interface CampaignCounters {
  stock: number;
  pending: number;
  issued: number;
  remaining: number;
}

/** Polls the campaign until nothing is pending (every admitted claim issued), and returns its counters. */
export function waitQuiet(
  client: ReturnType<typeof createClient>,
  id: string,
  timeoutMs = 30_000,
): Promise<CampaignCounters> {
  return eventually(
    async () => {
      const campaign = (await client.request({ method: "GET", path: `/v1/campaigns/${id}` }))
        .body as unknown as CampaignCounters;
      return campaign.pending === 0 ? campaign : undefined;
    },
    timeoutMs,
    `campaign ${id}: pending 0`,
  );
}
