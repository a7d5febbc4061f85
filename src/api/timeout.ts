import { ApiError } from "../errors/catalogue.ts";

/**
 * Bounds how long a request waits on a dependency (SPEC invariant 5). On
 * timeout the answer is 503 `unavailable`; the operation itself may still
 * complete (an admission then shows up as 409 on retry, as the contract says).
 *
 * On every claim's path (twice), so it makes one promise, not the three of
 * Promise.race(...).finally(...).
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new ApiError("unavailable", "A dependency did not answer in time.", { retryAfter: 1 })),
      ms,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
