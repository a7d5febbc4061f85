import { StampedeError } from "../../domain/errors.ts";

/**
 * Bounds how long a request waits on a dependency (SPEC invariant 5). On
 * timeout the answer is 503 `unavailable`; the operation itself may still
 * complete (an admission then shows up as 409 on retry, as the contract says).
 * `discard` receives a value that arrives too late, to release what it holds
 * (a subscription, say).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, discard?: (late: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new StampedeError("unavailable", "A dependency did not answer in time.", { retryAfter: 1 }));
    }, ms);
  });
  if (discard)
    void promise.then(
      (late) => timedOut && discard(late),
      () => undefined,
    );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The request deadline every route applies to its service call (REQUEST_TIMEOUT_MS, 5 s by default). */
export type Deadline = <T>(promise: Promise<T>, discard?: (late: T) => void) => Promise<T>;

export function deadline(timeoutMs = 5000): Deadline {
  return (promise, discard) => withTimeout(promise, timeoutMs, discard);
}
