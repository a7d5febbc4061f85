import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import { StartupError } from "./startup-error.ts";

/**
 * Listens, then waits for SIGTERM/SIGINT and shuts down in order: stop
 * accepting and finish in-flight requests, then close the runtime (the worker
 * finishes its batch, files and connections close), all within
 * SHUTDOWN_TIMEOUT_MS. Resolves with the exit status.
 */
export interface ServeOptions {
  app: FastifyInstance;
  config: Config;
  logger: Logger;
  mode: string;
  close: () => Promise<void>;
  /** Called the moment shutdown begins (readiness turns 503). */
  onShutdown?: () => void;
}

export async function serve(options: ServeOptions): Promise<number> {
  const { app, config, logger } = options;
  try {
    await app.listen({ port: config.PORT, host: config.HOST, backlog: config.LISTEN_BACKLOG });
  } catch (error) {
    await options.close().catch(() => undefined);
    throw new StartupError(`cannot listen on ${config.HOST}:${config.PORT}: ${(error as Error).message}`);
  }
  const address = app.server.address();
  const where =
    typeof address === "object" && address ? `http://${address.address}:${address.port}` : String(address);
  logger.info({ mode: options.mode, address: where }, "stampede listening");
  process.stdout.write(`stampede ${options.mode} listening on ${where} (API docs: ${where}/docs)\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      options.onShutdown?.();
      logger.info({ signal }, "shutting down");
      const deadline = setTimeout(() => {
        logger.error("shutdown deadline passed; exiting");
        resolve(1);
      }, config.SHUTDOWN_TIMEOUT_MS);
      deadline.unref();
      try {
        await app.close();
        await options.close();
        clearTimeout(deadline);
        logger.info("stopped");
        resolve(0);
      } catch (error) {
        logger.error({ err: error }, "shutdown failed");
        resolve(1);
      }
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });
}
