import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `check` until it returns a truthy value, and returns that value. A
 * check that throws counts as "not yet" (a process restarting, a service
 * coming back); past `timeoutMs` the wait fails naming `what` and the last
 * error. For a fixed pause, use node:timers/promises' setTimeout.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why =
        lastError === undefined ? "" : ` (last error: ${(lastError as Error)?.message ?? lastError})`;
      throw new Error(`${what} not reached within ${timeoutMs} ms${why}`);
    }
    await sleep(intervalMs);
  }
}
