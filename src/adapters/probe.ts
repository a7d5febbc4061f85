import type { DependencyStatus } from "../ports/readiness.ts";

/**
 * One dependency's readiness probe, bounded: a dependency that hangs is
 * reported not ready after `timeoutMs`, so /readyz answers in a known time
 * whatever its probes wait on. Never rejects.
 */
export async function probe(
  name: string,
  check: () => Promise<void>,
  timeoutMs: number,
): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), late]);
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
