/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: the base
 * doubled per attempt, capped, minus up to 20% jitter so that tasks which
 * failed together (a dependency was down) do not all come back together.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export function backoffDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const full = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return Math.round(full * (1 - 0.2 * random()));
}
