import type { ConsumeOptions, Consumer } from "../ports/queue.ts";

/**
 * ConsumeOptions.concurrency for queues that acknowledge each message on its
 * own (the embedded journal, Redis Streams): that many independent consume
 * loops, stopped together. `start` runs one loop (concurrency 1).
 */
export function consumeInParallel(
  options: ConsumeOptions,
  start: (one: ConsumeOptions) => Consumer,
): Consumer | undefined {
  const n = options.concurrency ?? 1;
  if (n <= 1) return undefined;
  const loops = Array.from({ length: n }, () => start({ ...options, concurrency: 1 }));
  return {
    stop: async () => {
      await Promise.all(loops.map((loop) => loop.stop()));
    },
  };
}
