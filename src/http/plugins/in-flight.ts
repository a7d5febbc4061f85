import type { FastifyInstance, FastifyRequest } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import { isEventStream } from "../../ops/metrics/routes.ts";
import { sendError } from "./errors.ts";

/**
 * Counts the requests being answered, so a graceful shutdown can wait for
 * them before draining the worker, and refuses new ones once closing. Event streams are left out: they last until
 * their claim is issued (or forever, for the dashboard), and shutdown ends
 * them itself once the worker has drained.
 */
export class InFlight {
  /** True once the app is closing: new requests are answered 503 at once. */
  closing = false;
  #count = 0;
  #waiters: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  enter(): void {
    this.#count++;
  }

  leave(): void {
    this.#count--;
    if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves true once nothing is in flight, false if `untilMs` (epoch ms) comes first. */
  async waitIdle(untilMs: number): Promise<boolean> {
    if (this.#count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = await Promise.race([
      new Promise<boolean>((resolve) => this.#waiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, untilMs - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    return idle;
  }
}

const SHUTTING_DOWN = new StampedeError("unavailable", "Shutting down; retry on another instance.", {
  retryAfter: 1,
});

const trackers = new WeakMap<FastifyInstance, InFlight>();

export function trackInFlight(app: FastifyInstance): InFlight {
  const tracker = new InFlight();
  const counted = new WeakSet<FastifyRequest>();
  // Callback-style hooks: no promise per request.
  const leave = (request: FastifyRequest, done: () => void) => {
    if (counted.delete(request)) tracker.leave();
    done();
  };
  // A request that arrives on a kept-alive connection while the server
  // closes gets the contract's 503 (Fastify adds Connection: close), so a
  // busy client cannot hold the shutdown open.
  app.addHook("preClose", (done) => {
    tracker.closing = true;
    done();
  });
  app.addHook("onRequest", (request, reply, done) => {
    if (tracker.closing) {
      sendError(reply, SHUTTING_DOWN);
      return;
    }
    if (!isEventStream(request.routeOptions)) {
      counted.add(request);
      tracker.enter();
    }
    done();
  });
  app.addHook("onResponse", (request, _reply, done) => leave(request, done));
  app.addHook("onRequestAbort", (request, done) => leave(request, done));
  trackers.set(app, tracker);
  return tracker;
}

/** The tracker buildApp installed on this app, if any. */
export function inFlightOf(app: FastifyInstance): InFlight | undefined {
  return trackers.get(app);
}
