import type { Queue } from "../ports/queue.ts";

const POLL_MS = 10;

/**
 * Waits while a running worker empties the queue: resolves with the messages
 * still unacknowledged when the queue is empty (0) or `untilMs` (epoch ms)
 * passes. Call it once no request can admit anything more (the server has
 * stopped accepting and in-flight requests are answered).
 */
export async function drainQueue(queue: Pick<Queue<unknown>, "lag">, untilMs: number): Promise<number> {
  for (;;) {
    const left = (await queue.lag()).reduce((sum, l) => sum + l.lag, 0);
    if (left === 0 || Date.now() >= untilMs) return left;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(1, untilMs - Date.now()))));
  }
}
