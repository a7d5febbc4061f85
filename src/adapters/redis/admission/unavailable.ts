/**
 * The contract's 503 as Redis admission answers it: whatever keeps it from
 * deciding now (Redis, the ledger, a rebuild in progress) is `unavailable`
 * with Retry-After 1, never an unexpected error.
 */

import { StampedeError } from "../../../domain/errors.ts";

export const redisDidNotAnswer = (cause: unknown): StampedeError =>
  new StampedeError("unavailable", "Redis did not answer.", { retryAfter: 1, cause });

export const beingRebuilt = (): StampedeError =>
  new StampedeError("unavailable", "The campaign's admission state is being rebuilt.", { retryAfter: 1 });

/** A failing Redis or ledger read becomes the contract's 503 (a StampedeError passes through). */
export async function unavailableOnFailure<T>(
  work: Promise<T>,
  message = "A dependency did not answer.",
): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof StampedeError) throw error;
    throw new StampedeError("unavailable", message, { retryAfter: 1, cause: error });
  }
}
