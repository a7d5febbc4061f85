import { defineTask } from "./define.ts";

/**
 * Demo handlers, so the pipeline can be tried with no code (docs/api.md "Generic
 * tasks"): `sleep` as the contract defines it, `flaky` to watch retries and
 * `fail` to watch a task end in the dead-letter list.
 */
export const sleepTask = defineTask<{ ms: number }>(
  "sleep",
  {
    type: "object",
    required: ["ms"],
    properties: { ms: { type: "integer", minimum: 0, maximum: 60_000 } },
  },
  async ({ payload, signal }) => {
    await abortableDelay(payload.ms, signal);
    return payload;
  },
);

export const flakyTask = defineTask<{ failures: number }>(
  "flaky",
  {
    type: "object",
    required: ["failures"],
    properties: { failures: { type: "integer", minimum: 0, maximum: 100 } },
  },
  ({ attempt, payload }) => {
    if (attempt <= payload.failures)
      throw new Error(`flaky: attempt ${attempt} fails, as asked (${payload.failures} failures)`);
    return { succeededOnAttempt: attempt };
  },
);

export const failTask = defineTask<{ message?: string }>(
  "fail",
  {
    type: "object",
    properties: { message: { type: "string", maxLength: 1000 } },
  },
  ({ attempt, payload }) => {
    throw new Error(payload.message ?? `fail: attempt ${attempt} fails, as every attempt does`);
  },
);

export const BUILTIN_TASKS = [sleepTask, flakyTask, failTask];

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
