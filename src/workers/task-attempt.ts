import type { TaskRecord } from "../ports/task-store.ts";
import type { TaskDefinition } from "../services/tasks/define.ts";

/**
 * Runs one attempt of a task's handler: with a timeout, a lease heartbeat,
 * and an AbortSignal that the handler may honour. The attempt ends when the
 * handler settles or when the signal fires, whichever comes first: a handler
 * that ignores its signal is left behind, not waited for.
 */
export type AttemptOutcome =
  | { kind: "succeeded"; result: unknown }
  | { kind: "failed"; error: string; permanent: boolean }
  /** The lease was lost: another attempt owns the task now, this one records nothing. */
  | { kind: "lost" }
  /** The worker is shutting down: the attempt is handed back. */
  | { kind: "interrupted" };

export interface AttemptOptions {
  timeoutMs: number;
  /** Fires when the worker shuts down. */
  shutdown: AbortSignal;
  /** Extends the lease; resolves false when the attempt is no longer the task's current one. */
  renew: () => Promise<boolean>;
  renewEveryMs: number;
}

/** Results are kept (memory, Redis) and served whole: bound their size. */
export const MAX_RESULT_BYTES = 256 * 1024;
const MAX_ERROR_CHARS = 2000;

class Stop extends Error {
  readonly reason: "timeout" | "lost" | "interrupted";
  constructor(reason: "timeout" | "lost" | "interrupted", message: string) {
    super(message);
    this.reason = reason;
  }
}

export async function runAttempt(
  definition: TaskDefinition,
  task: TaskRecord,
  options: AttemptOptions,
): Promise<AttemptOutcome> {
  const controller = new AbortController();
  let settled = false;
  const stop = (reason: Stop) => {
    if (!settled && !controller.signal.aborted) controller.abort(reason);
  };
  const onShutdown = () => stop(new Stop("interrupted", "the worker is shutting down"));
  if (options.shutdown.aborted) return { kind: "interrupted" };
  options.shutdown.addEventListener("abort", onShutdown, { once: true });
  const timeout = setTimeout(
    () => stop(new Stop("timeout", `the attempt did not finish within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const heartbeat = setInterval(() => {
    options.renew().then(
      (held) => {
        if (!held) stop(new Stop("lost", "the task's lease was lost to another attempt"));
      },
      // The store did not answer: keep going; if the lease really expires,
      // the next renewal says so.
      () => undefined,
    );
  }, options.renewEveryMs);
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => undefined); // handled by the race below, or never fired
  try {
    const value = await Promise.race([
      Promise.resolve().then(() =>
        definition.handler({
          taskId: task.taskId,
          attempt: task.attempts,
          payload: task.payload,
          signal: controller.signal,
        }),
      ),
      aborted,
    ]);
    return jsonResult(value);
  } catch (error) {
    // A handler that honours the signal rejects with its reason: the Stop
    // decides, whatever the handler threw.
    const reason = controller.signal.aborted ? controller.signal.reason : error;
    if (reason instanceof Stop) {
      if (reason.reason === "timeout") return { kind: "failed", error: reason.message, permanent: false };
      return { kind: reason.reason };
    }
    return { kind: "failed", error: describe(reason), permanent: isPermanent(reason) };
  } finally {
    settled = true;
    clearTimeout(timeout);
    clearInterval(heartbeat);
    options.shutdown.removeEventListener("abort", onShutdown);
  }
}

function jsonResult(value: unknown): AttemptOutcome {
  let text: string | undefined;
  try {
    text = JSON.stringify(value ?? null);
  } catch (error) {
    return { kind: "failed", error: `the result is not JSON: ${describe(error)}`, permanent: true };
  }
  if (text === undefined)
    return { kind: "failed", error: "the result is not JSON (a function or symbol)", permanent: true };
  if (Buffer.byteLength(text) > MAX_RESULT_BYTES)
    return {
      kind: "failed",
      error: `the result is larger than ${MAX_RESULT_BYTES} bytes as JSON`,
      permanent: true,
    };
  return { kind: "succeeded", result: JSON.parse(text) };
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}...` : text;
}

/** By name, not instanceof: the handler module may carry its own copy of PermanentTaskError. */
const isPermanent = (error: unknown) => error instanceof Error && error.name === "PermanentTaskError";
