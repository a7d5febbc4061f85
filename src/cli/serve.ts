import type { FastifyInstance, FastifyListenOptions } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import { inFlightOf } from "../http/plugins/in-flight.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { describe, StartupError } from "../runtime/startup-error.ts";
import type { ClusterChild } from "./cluster/child.ts";

/**
 * Listens, then waits for SIGTERM/SIGINT and shuts down in order, within
 * SHUTDOWN_TIMEOUT_MS:
 * 1. readiness answers 503 (onShutdown), dashboard streams end;
 * 2. stop accepting connections (requests on kept-alive ones get 503);
 * 3. wait for in-flight requests to be answered;
 * 4. drain: the worker issues what is queued (whatever is left when the time
 *    is up stays durable in the queue and is issued after the next start);
 * 5. end the connections still open after a short grace (event streams of
 *    claims not yet issued: their clients reconnect elsewhere);
 * 6. close the runtime (worker, queue, ledger, connections).
 * Resolves with the exit status.
 */
export interface ServeOptions {
  app: FastifyInstance;
  config: Config;
  logger: Logger;
  mode: string;
  /** Closed at the end; told the moment shutdown begins (readiness turns 503); drained when it can be. */
  runtime: Pick<Runtime, "close" | "beginShutdown" | "drain">;
  /** In a child process of --processes N: listen on a socket of its own, report to the primary. */
  child?: ClusterChild | undefined;
}

/** Time kept back from the drain for closing files and connections. */
const CLOSE_RESERVE_MS = 2000;
/** How long open connections may take to end by themselves after the drain. */
const STREAM_GRACE_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export async function serve(options: ServeOptions): Promise<number> {
  const { app, config, logger, runtime, child } = options;
  try {
    await app.listen({
      port: config.PORT,
      host: config.HOST,
      backlog: config.LISTEN_BACKLOG,
      // Children of --processes N: a socket each on the same port; the kernel spreads connections.
      ...(child ? { exclusive: true, reusePort: true } : {}),
    } as FastifyListenOptions);
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw new StartupError(
      `cannot listen on ${config.HOST}:${config.PORT} (HOST, PORT): ${describe(error)}`,
      { cause: error },
    );
  }
  const address = app.server.address();
  const where =
    typeof address === "object" && address ? `http://${address.address}:${address.port}` : String(address);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      const started = Date.now();
      const drainUntil =
        started + config.SHUTDOWN_TIMEOUT_MS - Math.min(CLOSE_RESERVE_MS, config.SHUTDOWN_TIMEOUT_MS / 4);
      runtime.beginShutdown();
      logger.info({ signal }, "shutting down");
      const deadline = setTimeout(() => {
        // Whatever is still open (a stuck connection, a hung dependency) would
        // keep the process alive: exit. The journal / queue keeps every 202.
        logger.error("shutdown deadline passed; exiting");
        resolve(1);
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS);
      deadline.unref();
      try {
        const closed = app.close();
        const answered = await (inFlightOf(app)?.waitIdle(drainUntil) ?? true);
        if (!answered) logger.warn("requests still in flight at the drain deadline");
        if (runtime.drain) {
          const left = await runtime.drain(drainUntil);
          if (left > 0)
            logger.warn({ left }, "drain deadline passed; the rest stays queued and is issued after restart");
          else logger.info({ ms: Date.now() - started }, "drained: every admitted claim is issued");
        }
        // Connections still open are event streams or clients reading their
        // last answer: give those a moment to end on their own, then end the rest.
        await Promise.race([closed, sleep(Math.min(STREAM_GRACE_MS, Math.max(0, drainUntil - Date.now())))]);
        app.server.closeAllConnections();
        await closed;
        await runtime.close();
        clearTimeout(deadline);
        logger.info({ ms: Date.now() - started }, "stopped");
        resolve(0);
      } catch (error) {
        logger.error({ err: error }, "shutdown failed");
        resolve(1);
      }
    };
    // After the first signal both handlers go: a second signal kills at once.
    const onTerm = () => {
      process.off("SIGINT", onInt);
      void stop("SIGTERM");
    };
    const onInt = () => {
      process.off("SIGTERM", onTerm);
      void stop("SIGINT");
    };
    process.once("SIGTERM", onTerm);
    process.once("SIGINT", onInt);
    child?.onStop(() => void stop("primary"));
    // Announced once the signals are handled: whoever waits for this line may SIGTERM at once.
    logger.info({ mode: options.mode, address: where, pid: process.pid }, "stampede listening");
    if (child) child.listening(where);
    else process.stdout.write(`stampede ${options.mode} listening on ${where} (API docs: ${where}/docs)\n`);
  });
}
