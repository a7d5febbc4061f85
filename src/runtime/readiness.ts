/**
 * GET /readyz for every mode: each dependency the process's role needs is
 * probed at once, each within a deadline, so a dependency that hangs
 * instead of refusing makes /readyz answer "not ready" in time rather than
 * hang the orchestrator's probe.
 */

import type { DependencyStatus, Readiness } from "../ports/readiness.ts";

export interface Probe {
  name: string;
  probe: () => Promise<void>;
}

/** How long one probe may take before its dependency counts as not ready (READINESS_TIMEOUT_MS sets it). */
export const PROBE_TIMEOUT_MS = 2000;

export function readinessOf(probes: readonly Probe[], timeoutMs = PROBE_TIMEOUT_MS): Readiness {
  return () => Promise.all(probes.map((p) => check(p, timeoutMs)));
}

export async function check({ name, probe }: Probe, timeoutMs = PROBE_TIMEOUT_MS): Promise<DependencyStatus> {
  try {
    await within(timeoutMs, probe());
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, error: (error as Error).message };
  }
}

/** `promise`, or a rejection once `timeoutMs` passed without its answer. */
export async function within<T>(timeoutMs: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
