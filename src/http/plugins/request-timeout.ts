/**
 * A deadline on every request (invariant 5, docs/api.md): whatever a route waits on
 * (Redis, the ledger, the queue, a readiness probe, DNS), it is answered
 * within REQUEST_TIMEOUT_MS of its arrival, `503 unavailable` with
 * Retry-After when the wait runs out. Written once, for every route: an
 * onRoute hook wraps each handler registered after it, so a route added
 * later cannot forget it.
 *
 * The work a late answer was waiting for goes on (an admission that
 * completes shows up as 409 on retry, as the contract says); its outcome is
 * dropped without a trace in the logs. A value that holds something (a
 * subscription) and arrives late must be released: handlers pass such values
 * through `keepIfInTime`.
 *
 * A response that has started (an export streaming, an event stream once
 * open) is not cut: the deadline bounds the wait for the answer, not the
 * length of a download.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import { StampedeError } from "../../domain/errors.ts";

const TIMED_OUT = new StampedeError("unavailable", "A dependency did not answer in time.", { retryAfter: 1 });

/** Requests answered 503 by their deadline: whatever their handler still does is thrown away. */
const expired = new WeakSet<FastifyRequest>();

/** Installs the deadline on every route registered after this call. */
export function installDeadline(app: FastifyInstance, timeoutMs: number): void {
  app.addHook("onRoute", (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function withDeadline(this: FastifyInstance, request, reply) {
      const answer = handler.call(this, request, reply);
      // Synchronous handlers wait on nothing.
      if (!(answer instanceof Promise)) return answer;
      return raceDeadline(answer, request, reply, timeoutMs);
    };
  });
}

function raceDeadline<T>(
  answer: Promise<T>,
  request: FastifyRequest,
  reply: FastifyReply,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // From the request's arrival, not the handler's start: reading the body counts.
    const timer = setTimeout(
      () => {
        if (reply.sent || reply.raw.headersSent) return;
        expired.add(request);
        reject(TIMED_OUT);
      },
      Math.max(0, timeoutMs - reply.elapsedTime),
    );
    // Settling after the timer rejected is a no-op: the late outcome is dropped here.
    answer.then(
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

/**
 * Hands back `value` while the request is still waiting for it; once the
 * deadline has answered the request, releases it and throws (the throw ends
 * the abandoned handler; nobody sees it).
 */
export function keepIfInTime<T>(request: FastifyRequest, value: T, release: (late: T) => void): T {
  if (!expired.has(request)) return value;
  release(value);
  throw TIMED_OUT;
}

/**
 * Bounds one wait by `ms` (for waits shorter than the request's, whose
 * failure the route reports itself): 503 `unavailable` when it runs out.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
