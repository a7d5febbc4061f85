import type { FastifyInstance, FastifyRequest } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import type { Readiness } from "../../ports/readiness.ts";
import { errorResponses } from "../plugins/openapi.ts";

export interface HealthSources {
  readiness: Readiness;
  /** True from the moment a graceful shutdown begins. */
  isShuttingDown?: (() => boolean) | undefined;
}

/**
 * /healthz and /readyz. /readyz is public (load balancers and orchestrators
 * probe it without credentials), so its public answer says only ready or not
 * ready; which dependency fails, and its error text (hosts, ports, driver
 * messages), is shown to the admin token only.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  sources: HealthSources,
  isAdmin: (request: FastifyRequest) => boolean,
): void {
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
        description:
          "The public answer says only ready or not ready; with the admin token it lists each dependency " +
          "(`dependencies`: name, ok, error) and names the failing ones.",
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
    async (request) => {
      if (sources.isShuttingDown?.())
        throw new StampedeError("unavailable", "Shutting down.", { retryAfter: 1 });
      const dependencies = await sources.readiness();
      const failing = dependencies.filter((d) => !d.ok);
      const admin = isAdmin(request);
      if (failing.length > 0)
        throw admin
          ? new StampedeError("unavailable", `Not ready: ${failing.map((d) => d.name).join(", ")}.`, {
              retryAfter: 1,
              fields: { dependencies },
            })
          : NOT_READY;
      return admin ? { status: "ready", dependencies } : READY;
    },
  );
}

const READY = { status: "ready" } as const;
const NOT_READY = new StampedeError("unavailable", "Not ready.", { retryAfter: 1 });
