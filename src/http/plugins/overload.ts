import underPressure from "@fastify/under-pressure";
import type { FastifyInstance } from "fastify";
import { StampedeError } from "../../domain/errors.ts";

/** OVERLOAD_* settings: a threshold of 0 is not checked. */
export interface OverloadOptions {
  /** How late the event loop may run a timer, ms (0 = not checked). */
  maxEventLoopDelayMs: number;
  /** V8 heap in use, bytes (0 = not checked). */
  maxHeapUsedBytes: number;
  /** Resident set size, bytes (0 = not checked). */
  maxRssBytes: number;
  /** How often the figures are sampled, ms. */
  sampleIntervalMs?: number;
}

/** Routes answered even under pressure: the process is alive, and operators need to see why it sheds. */
const EXEMPT = new Set(["/healthz", "/metrics"]);

/** Retry-After is drawn from this range so that shed clients do not all come back in the same second. */
const RETRY_AFTER_S = [1, 3] as const;

/**
 * Load shedding. While the event loop lags or memory runs high, every request
 * is answered 503 `unavailable` at once, in its onRequest hook: before its
 * body is read, before anything is admitted. A server that has fallen behind
 * otherwise keeps accepting work it cannot finish, and every client ends in a
 * timeout instead of a quick, honest "retry later".
 */
export async function registerOverloadGuard(
  app: FastifyInstance,
  options: OverloadOptions | undefined,
): Promise<void> {
  if (!options) return;
  const { maxEventLoopDelayMs, maxHeapUsedBytes, maxRssBytes } = options;
  if (maxEventLoopDelayMs === 0 && maxHeapUsedBytes === 0 && maxRssBytes === 0) return;
  const sampleIntervalMs = options.sampleIntervalMs ?? 250;
  // Starting up (loading modules, compiling schemas) blocks the event loop
  // too; the first samples would shed the first clients of a healthy server.
  // Judge only samples taken wholly after the app is ready.
  let armedAt = Number.POSITIVE_INFINITY;
  app.addHook("onReady", async () => {
    armedAt = performance.now() + 2 * sampleIntervalMs;
  });
  const lag = eventLoopLag(sampleIntervalMs);
  let lastWarning = 0;
  await app.register(underPressure, {
    // under-pressure's own event-loop figure is the mean of a delay histogram
    // over the sample, and it reads a sample with no data point as Infinity:
    // on a busy loop (one iteration longer than the sample) it shed load
    // whatever the threshold. The lag of our own timer is measured instead
    // and reported through the health check.
    maxEventLoopDelay: 0,
    maxHeapUsedBytes,
    maxRssBytes,
    sampleInterval: sampleIntervalMs,
    ...(maxEventLoopDelayMs > 0
      ? { healthCheck: async () => lag() <= maxEventLoopDelayMs, healthCheckInterval: sampleIntervalMs }
      : {}),
    pressureHandler: async (request, _reply, type, value) => {
      if (EXEMPT.has(request.routeOptions.url ?? "") || performance.now() < armedAt) return;
      const now = Date.now();
      if (now - lastWarning > 10_000) {
        lastWarning = now;
        const figure = type === "healthCheck" ? { type: "eventLoopDelay", value: lag.last } : { type, value };
        request.log.warn(figure, "overloaded: answering 503 until it passes");
      }
      const [low, high] = RETRY_AFTER_S;
      throw new StampedeError("unavailable", "The server is overloaded; retry later.", {
        retryAfter: low + Math.floor(Math.random() * (high - low + 1)),
      });
    },
  });
}

/**
 * Called every `intervalMs` by a timer; returns how much later than due that
 * call came, i.e. how long the event loop was busy in between.
 */
function eventLoopLag(intervalMs: number): { (): number; last: number } {
  let previous: number | undefined;
  const measure = Object.assign(
    () => {
      const now = performance.now();
      measure.last = previous === undefined ? 0 : Math.max(0, now - previous - intervalMs);
      previous = now;
      return measure.last;
    },
    { last: 0 },
  );
  return measure;
}
