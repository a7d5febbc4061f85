/**
 * Fires `count` requests at one or more targets, either at a fixed
 * concurrency (each lane keeps one connection and sends its next request as
 * soon as the previous one is answered; concurrency = count means all at
 * once, one connection each) or at a fixed rate (request i is due at
 * i / rate seconds; its latency counts from then, so a server that falls
 * behind is not flattered by the generator waiting for it).
 * 429 and 503 answers with Retry-After are retried after that delay, as a
 * real client would.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { RequestError } from "./connection.ts";
import { Pool } from "./pool.ts";
import type { ParsedResponse } from "./response-parser.ts";

export interface EngineOptions {
  targets: URL[];
  count: number;
  concurrency: number;
  rate?: number | undefined;
  timeoutMs: number;
  retries: number;
  maxRetryWaitMs: number;
  request(index: number, host: string): string;
  onAnswer(index: number, answer: Answer): void;
  onProgress?: (done: number) => void;
}

export type Answer =
  | { ok: true; response: ParsedResponse; latencyMs: number; doneAt: number; attempts: number }
  | { ok: false; error: string; latencyMs: number; doneAt: number; attempts: number };

export interface EngineResult {
  /** performance.now() of the first request's start and the last answer. */
  startedAt: number;
  endedAt: number;
  connectionsOpened: number;
}

const RETRYABLE = new Set([429, 503]);

export async function runEngine(options: EngineOptions): Promise<EngineResult> {
  const { targets, count } = options;
  const rateMode = options.rate !== undefined && options.rate > 0;
  const lanes = Math.max(1, Math.min(count, options.concurrency));
  const pools = targets.map((target, t) => {
    // Lane l always uses target l % targets.length, so each pool has exactly its lanes.
    const share = Math.floor(lanes / targets.length) + (t < lanes % targets.length ? 1 : 0);
    return new Pool(target, Math.max(1, share));
  });
  const hosts = pools.map((p) => `${p.host}:${p.port}`);
  let done = 0;
  let endedAt = 0;
  const startedAt = performance.now();

  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const pool of pools) pool.sweep(now, options.timeoutMs);
  }, 250);
  const progress =
    options.onProgress &&
    setInterval(() => {
      options.onProgress?.(done);
    }, 200);

  /** Sends request `index` on `pool` until it has a final answer. */
  const send = async (index: number, poolIndex: number, startAt: number): Promise<void> => {
    const pool = pools[poolIndex]!;
    const bytes = options.request(index, hosts[poolIndex]!);
    let start = startAt;
    for (let attempt = 1; ; attempt++) {
      const acquired = pool.acquire();
      const connection = acquired instanceof Promise ? await acquired : acquired;
      let answer: Answer;
      try {
        const response = await connection.request(bytes);
        const now = performance.now();
        answer = { ok: true, response, latencyMs: now - start, doneAt: now, attempts: attempt };
      } catch (error) {
        const now = performance.now();
        const code = error instanceof RequestError ? error.code : String(error);
        answer = { ok: false, error: code, latencyMs: now - start, doneAt: now, attempts: attempt };
      }
      pool.release(connection);
      if (answer.ok && RETRYABLE.has(answer.response.status) && attempt <= options.retries) {
        const seconds = Number(answer.response.retryAfter);
        if (Number.isFinite(seconds) && seconds >= 0) {
          await sleep(Math.min(seconds * 1000, options.maxRetryWaitMs));
          start = performance.now();
          continue;
        }
      }
      done++;
      endedAt = answer.doneAt;
      options.onAnswer(index, answer);
      return;
    }
  };

  try {
    if (rateMode) await fireAtRate(options, pools.length, send);
    else {
      let next = 0;
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          const poolIndex = lane % pools.length;
          for (;;) {
            const index = next++;
            if (index >= count) return;
            await send(index, poolIndex, performance.now());
          }
        }),
      );
    }
  } finally {
    clearInterval(sweeper);
    if (progress) clearInterval(progress);
    options.onProgress?.(done);
    for (const pool of pools) pool.closeAll();
  }
  return {
    startedAt,
    endedAt: endedAt || performance.now(),
    connectionsOpened: pools.reduce((n, p) => n + p.opened, 0),
  };
}

async function fireAtRate(
  options: EngineOptions,
  poolCount: number,
  send: (index: number, pool: number, startAt: number) => Promise<void>,
): Promise<void> {
  const rate = options.rate!;
  const t0 = performance.now();
  let issued = 0;
  let outstanding = 0;
  let allSent: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    allSent = resolve;
  });
  const settle = () => {
    outstanding--;
    if (outstanding === 0 && issued >= options.count) allSent();
  };
  while (issued < options.count) {
    const due = Math.min(options.count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    for (; issued < due; issued++) {
      outstanding++;
      void send(issued, issued % poolCount, t0 + (issued / rate) * 1000).then(settle);
    }
    await sleep(1);
  }
  if (outstanding > 0) await finished;
}
