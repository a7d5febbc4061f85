import type { FastifyInstance } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import type { Readiness } from "../../ports/readiness.ts";
import { errorResponses } from "../plugins/openapi.ts";

export interface HealthSources {
  readiness: Readiness;
  /** True from the moment a graceful shutdown begins. */
  isShuttingDown?: (() => boolean) | undefined;
}

export function registerHealthRoutes(app: FastifyInstance, sources: HealthSources): void {
  app.get(
    "/healthz",
    {
      schema: {
        summary: "200 while the process runs",
        tags: ["operations"],
        response: { 200: { type: "object", properties: { status: { type: "string" } } } },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        summary: "200 when the dependencies this process's role needs answer",
        tags: ["operations"],
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              dependencies: { type: "array", items: { type: "object", additionalProperties: true } },
            },
          },
          ...errorResponses("unavailable"),
        },
      },
    },
    async () => {
      if (sources.isShuttingDown?.())
        throw new StampedeError("unavailable", "Shutting down.", {
          retryAfter: 1,
          fields: { dependencies: [] },
        });
      const dependencies = await sources.readiness();
      const failing = dependencies.filter((d) => !d.ok);
      if (failing.length > 0)
        throw new StampedeError("unavailable", `Not ready: ${failing.map((d) => d.name).join(", ")}.`, {
          retryAfter: 1,
          fields: { dependencies },
        });
      return { status: "ready", dependencies };
    },
  );
}
