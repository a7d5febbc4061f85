import Fastify, { type FastifyInstance, LogController } from "fastify";
import { ERROR_CATALOGUE } from "../../../src/domain/errors.ts";

const SOLD_OUT = JSON.stringify({ error: "sold_out", message: ERROR_CATALOGUE.sold_out.message });

/**
 * The ceiling: the most a stampede-shaped server can answer on this machine
 * with this load generator. It is built like stampede's API (src/http/app.ts):
 * the same Fastify, no request logging, the same body limit, 503 while
 * closing, idle connections closed on shutdown, Fastify's default keep-alive
 * timeouts, and it listens with the same LISTEN_BACKLOG (src/cli/serve.ts).
 * Then it does nothing: the claim route parses the JSON body and answers the
 * contract's constant 410. Whatever a benchmark measures against stampede is
 * read as a share of what this server reaches in the same run.
 */
export function buildCeilingApp(): FastifyInstance {
  const app = Fastify({
    logger: false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    routerOptions: { maxParamLength: 256 },
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });
  app.post("/v1/campaigns/:id/claims", async (_request, reply) =>
    reply.code(410).type("application/json; charset=utf-8").send(SOLD_OUT),
  );
  app.get("/healthz", async () => ({ status: "ok" }));
  return app;
}
