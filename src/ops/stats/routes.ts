import type { FastifyInstance } from "fastify";
import type { Guard } from "../../http/plugins/auth.ts";
import { errorResponses } from "../../http/plugins/openapi.ts";
import { collectStats, type StatsInputs } from "./collect.ts";

export function registerStatsRoutes(app: FastifyInstance, inputs: StatsInputs, admin: Guard): void {
  app.get(
    "/v1/admin/stats",
    {
      onRequest: admin,
      schema: {
        summary: "Operational statistics (admin)",
        description:
          "Per campaign issued / pending / remaining, queue lag per partition or stream, ledger counts, " +
          "and, when Redis is used, its memory (INFO memory and MEMORY STATS essentials, the MEMORY DOCTOR " +
          "text, bytes per key family, eviction warnings). A section that fails reads `{error}`.",
        tags: ["operations"],
        security: [{ admin: [] }],
        response: {
          200: {
            type: "object",
            required: ["mode", "serverTime", "campaigns"],
            additionalProperties: true,
            properties: {
              mode: { type: "string" },
              serverTime: { type: "string", format: "date-time" },
              campaigns: {},
              queue: {},
              ledger: {},
              redis: {},
              process: {},
            },
          },
          ...errorResponses("unauthorized", "unavailable"),
        },
      },
    },
    // The body is built from adapters' free-form sections: sent as JSON as is.
    async (_request, reply) =>
      reply.type("application/json; charset=utf-8").send(JSON.stringify(await collectStats(inputs))),
  );
}
