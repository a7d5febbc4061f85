/**
 * What the holds scenario drives (docs/api.md "Holds"): claims, confirms,
 * releases and claim reads fired through the bench's own HTTP/1.1 generator
 * (bench/engine/generator), and the campaign's counters read every few
 * milliseconds while it runs, each read checked (issued + pending + held <=
 * stock, remaining = stock - issued - pending - held).
 */

import { setTimeout as sleep } from "node:timers/promises";
import { type Answer, runEngine } from "../engine/generator/engine.ts";
import { ADMIN_TOKEN } from "./modes.ts";

/** One claim, confirm, release or read, as answered (body fields as the API names them). */
export interface ClaimAnswer {
  status: number;
  /** Connection error code, when there was no answer. */
  error?: string;
  latencyMs: number;
  /** Epoch ms of the answer (this process's clock). */
  doneAt: number;
  claimId?: string;
  userId?: string;
  /** The claim's status in the body (held, issued, released, expired...). */
  claimStatus?: string;
  /** Epoch ms (the server's clock). */
  expiresAt?: number;
  admittedAt?: number;
  endedAt?: number;
}

const time = (v: unknown) => (typeof v === "string" ? Date.parse(v) : undefined);
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

function toClaimAnswer(answer: Answer): ClaimAnswer {
  const doneAt = performance.timeOrigin + answer.doneAt;
  if (!answer.ok) return { status: 0, error: answer.error, latencyMs: answer.latencyMs, doneAt };
  const { status, body } = answer.response;
  const out: ClaimAnswer = { status, latencyMs: answer.latencyMs, doneAt };
  if (status !== 200 && status !== 202) return out;
  try {
    const b = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    out.claimId = str(b.claimId);
    out.userId = str(b.userId);
    out.claimStatus = str(b.status);
    out.expiresAt = time(b.expiresAt);
    out.admittedAt = time(b.admittedAt);
    out.endedAt = time(b.endedAt);
  } catch {
    // not JSON: the status alone
  }
  return out;
}

const authorization = `authorization: Bearer ${ADMIN_TOKEN}\r\n`;

/** The bytes of POST /v1/claims/:id/confirm or /release, with the admin token and no body. */
export function holdRequest(host: string, claimId: string, action: "confirm" | "release"): string {
  return `POST /v1/claims/${claimId}/${action} HTTP/1.1\r\nhost: ${host}\r\n${authorization}content-length: 0\r\n\r\n`;
}

export function claimReadRequest(host: string, claimId: string): string {
  return `GET /v1/claims/${claimId} HTTP/1.1\r\nhost: ${host}\r\n${authorization}\r\n`;
}

export function claimPostRequest(host: string, campaignId: string, userId: string): string {
  const body = `{"userId":"${userId}"}`;
  return (
    `POST /v1/campaigns/${campaignId}/claims HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
    `content-length: ${body.length}\r\n\r\n${body}`
  );
}

export interface Fired {
  answers: ClaimAnswer[];
  /** Epoch ms of the first request and of the last answer. */
  startedAt: number;
  endedAt: number;
}

/** Sends one request per item at `concurrency` (503 and 429 with Retry-After retried, as clients do). */
export async function fire<T>(
  targets: string[],
  items: T[],
  concurrency: number,
  request: (item: T, host: string) => string,
): Promise<Fired> {
  const answers: ClaimAnswer[] = new Array(items.length);
  const result = await runEngine({
    targets: targets.map((t) => new URL(t)),
    count: items.length,
    concurrency,
    timeoutMs: 30_000,
    retries: 20,
    maxRetryWaitMs: 1000,
    request: (i, host) => request(items[i]!, host),
    onAnswer: (i, answer) => {
      answers[i] = toClaimAnswer(answer);
    },
  });
  return {
    answers,
    startedAt: performance.timeOrigin + result.startedAt,
    endedAt: performance.timeOrigin + result.endedAt,
  };
}

export interface CounterRead {
  /** Epoch ms: the read was sent, answered. */
  sentAt: number;
  at: number;
  issued: number;
  pending: number;
  held: number;
  remaining: number;
}

export async function readCounters(target: string, campaignId: string): Promise<CounterRead | undefined> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${target}/v1/campaigns/${campaignId}`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) return undefined;
    const b = (await res.json()) as Record<string, unknown>;
    return {
      sentAt,
      at: Date.now(),
      issued: Number(b.issued),
      pending: Number(b.pending),
      held: Number(b.held ?? 0),
      remaining: Number(b.remaining),
    };
  } catch {
    return undefined;
  }
}

/** What is wrong with one read of the counters (empty: nothing). */
export function counterFaults(c: CounterRead, stock: number): string[] {
  const faults: string[] = [];
  if (c.issued + c.pending + c.held > stock)
    faults.push(`issued ${c.issued} + pending ${c.pending} + held ${c.held} > stock ${stock}`);
  if (c.remaining !== stock - c.issued - c.pending - c.held)
    faults.push(
      `remaining ${c.remaining} != stock ${stock} - issued ${c.issued} - pending ${c.pending} - held ${c.held}`,
    );
  return faults;
}

/** Reads the counters every `everyMs` (round robin over the targets) until stopped; checks each read. */
export function counterSampler(targets: string[], campaignId: string, stock: number, everyMs = 20) {
  let running = true;
  const reads: CounterRead[] = [];
  const faults: string[] = [];
  const done = (async () => {
    for (let turn = 0; running; turn++) {
      const c = await readCounters(targets[turn % targets.length]!, campaignId);
      if (c) {
        reads.push(c);
        for (const f of counterFaults(c, stock)) if (faults.length < 20) faults.push(`at ${c.at}: ${f}`);
      }
      await sleep(everyMs);
    }
  })();
  return {
    reads,
    async stop() {
      running = false;
      await done;
      return { reads, faults };
    },
  };
}

/** Status counts of some answers: {"202": 500, "410": 1500}. */
export function byStatus(answers: ClaimAnswer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const key = a.error ?? String(a.status);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** A unit back in the stock: when (epoch ms, the server's clock) and why. */
export interface UnitBack {
  at: number;
  why: "unheld" | "released" | "expired";
}

export interface Retaken {
  /** Admission time of the unit's next taker minus the time it came back, by why it came back. */
  expiryLags: number[];
  releaseLags: number[];
  /** Admissions that came before as many units were back (more than `toleranceMs` early): must be 0. */
  early: number;
}

/**
 * Matches the units that came back with the admissions that took them, first
 * back first taken (`takenAt`: the admissions' admittedAt). The k-th
 * admission can only come once k units are back, so it is never earlier than
 * the k-th return; how much later is the lag of that return.
 */
export function matchRetaken(back: UnitBack[], takenAt: number[], toleranceMs = 2): Retaken {
  const returns = [...back].sort((a, b) => a.at - b.at);
  const taken = [...takenAt].sort((a, b) => a - b);
  const out: Retaken = { expiryLags: [], releaseLags: [], early: 0 };
  for (let k = 0; k < Math.min(returns.length, taken.length); k++) {
    const lag = taken[k]! - returns[k]!.at;
    if (!(lag >= -toleranceMs)) out.early++;
    if (returns[k]!.why === "expired") out.expiryLags.push(lag);
    else if (returns[k]!.why === "released") out.releaseLags.push(lag);
  }
  if (taken.length > returns.length) out.early += taken.length - returns.length;
  return out;
}
