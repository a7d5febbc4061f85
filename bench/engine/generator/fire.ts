/**
 * The firing phase: every request of the plan, recorded in typed arrays
 * (a million requests fit in a few tens of MB and cross the process boundary
 * by structured clone). Only the bodies of 202 and 409 are decoded: they name
 * the claim, which the invariant checks read back afterwards.
 */

import { type Answer, runEngine } from "./engine.ts";
import { buildPlan, claimRequest, getRequest, userId } from "./plan.ts";

export interface FireOptions {
  targets: string[];
  /** Path of the claim route, e.g. /v1/campaigns/abc/claims. */
  claimPath: string;
  users: number;
  duplicates: number;
  seed: number;
  userIdLength: number;
  idempotencyKeys: boolean;
  concurrency: number;
  rate?: number | undefined;
  timeoutMs: number;
  retries: number;
  maxRetryWaitMs: number;
}

export interface FireResult {
  /** Epoch ms of the first request's start; every *Ms offset below counts from it. */
  startedAtEpoch: number;
  durationMs: number;
  user: Int32Array;
  /** HTTP status of the final answer; 0 when there was none (see errorCode). */
  status: Uint16Array;
  latencyMs: Float32Array;
  doneAtMs: Float32Array;
  attempts: Uint8Array;
  /** For 202 and 409: the claim id the answer names. */
  claimId: (string | null)[];
  /** For 202: the server's admittedAt (epoch ms). */
  admittedAt: Float64Array;
  /** Connection-level failures by code, and the first failing request of each. */
  errors: Record<string, number>;
  errorCode: Record<number, string>;
  connectionsOpened: number;
  /** CPU (user + system) the generator process spent firing, in µs. */
  cpuMicros: number;
}

export async function fire(options: FireOptions, onProgress?: (done: number) => void): Promise<FireResult> {
  const plan = buildPlan(options);
  const count = plan.length;
  const result: FireResult = {
    startedAtEpoch: 0,
    durationMs: 0,
    user: plan,
    status: new Uint16Array(count),
    latencyMs: new Float32Array(count),
    doneAtMs: new Float32Array(count),
    attempts: new Uint8Array(count),
    claimId: new Array<string | null>(count).fill(null),
    admittedAt: new Float64Array(count),
    errors: {},
    errorCode: {},
    connectionsOpened: 0,
    cpuMicros: 0,
  };
  let t0 = 0;
  const record = (index: number, answer: Answer) => {
    result.latencyMs[index] = answer.latencyMs;
    result.doneAtMs[index] = answer.doneAt - t0;
    result.attempts[index] = Math.min(answer.attempts, 255);
    if (!answer.ok) {
      result.errors[answer.error] = (result.errors[answer.error] ?? 0) + 1;
      result.errorCode[index] = answer.error;
      return;
    }
    const { status, body } = answer.response;
    result.status[index] = status;
    if (status === 202 || status === 409) {
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { claimId?: string; admittedAt?: string };
        result.claimId[index] = parsed.claimId ?? null;
        if (status === 202 && parsed.admittedAt) result.admittedAt[index] = Date.parse(parsed.admittedAt);
      } catch {
        // Recorded as a claim-less answer; the invariant checks report it.
      }
    }
  };
  const cpu = process.cpuUsage();
  t0 = performance.now();
  const run = await runEngine({
    targets: options.targets.map((t) => new URL(t)),
    count,
    concurrency: options.concurrency,
    rate: options.rate,
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    maxRetryWaitMs: options.maxRetryWaitMs,
    request: (index, host) => {
      const user = userId(plan[index]!, options.userIdLength);
      return claimRequest(host, options.claimPath, user, options.idempotencyKeys ? `k-${user}` : undefined);
    },
    onAnswer: record,
    onProgress,
  });
  result.startedAtEpoch = performance.timeOrigin + run.startedAt;
  result.durationMs = run.endedAt - run.startedAt;
  result.connectionsOpened = run.connectionsOpened;
  const used = process.cpuUsage(cpu);
  result.cpuMicros = used.user + used.system;
  return result;
}

/** Reads many resources (claims, a user's claims); answers in order, bodies as text. */
export interface ReadOptions {
  targets: string[];
  paths: string[];
  headers?: Record<string, string>;
  concurrency: number;
  timeoutMs: number;
}

export interface ReadResult {
  status: number[];
  body: string[];
  errors: Record<string, number>;
}

export async function read(options: ReadOptions): Promise<ReadResult> {
  const result: ReadResult = {
    status: new Array<number>(options.paths.length).fill(0),
    body: new Array<string>(options.paths.length).fill(""),
    errors: {},
  };
  await runEngine({
    targets: options.targets.map((t) => new URL(t)),
    count: options.paths.length,
    concurrency: options.concurrency,
    timeoutMs: options.timeoutMs,
    retries: 3,
    maxRetryWaitMs: 2000,
    request: (index, host) => getRequest(host, options.paths[index]!, options.headers),
    onAnswer: (index, answer) => {
      if (!answer.ok) {
        result.errors[answer.error] = (result.errors[answer.error] ?? 0) + 1;
        return;
      }
      result.status[index] = answer.response.status;
      result.body[index] = answer.response.body.toString("utf8");
    },
  });
  return result;
}
