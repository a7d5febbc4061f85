import { StampedeError } from "../domain/errors.ts";

/**
 * Bounds how long a request waits on a dependency (SPEC invariant 5). On
 * timeout the answer is 503 `unavailable`; the operation itself may still
 * complete (an admission then shows up as 409 on retry, as the contract says).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new StampedeError("unavailable", "A dependency did not answer in time.", { retryAfter: 1 })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
