import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { ERROR_CATALOGUE, type ErrorCode } from "../../domain/errors.ts";
import { campaignSchema, claimSchema, errorSchema } from "../schemas/contract.ts";
import { ticketSchema } from "../schemas/waiting-room.ts";
import { HTTP_STATUS } from "./errors.ts";

/**
 * The OpenAPI document (/docs/json) and its page (/docs), built from the
 * routes' own schemas so that the document cannot drift from what is served.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  app.addSchema(errorSchema);
  app.addSchema(campaignSchema);
  app.addSchema(claimSchema);
  app.addSchema(ticketSchema);
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "stampede",
        version: "1",
        description:
          "Hands out a limited stock to whoever asks first. Errors share one shape, " +
          "`{error, message}`, with `error` taken from one catalogue (the Error schema's enum).",
      },
      components: {
        securitySchemes: {
          admin: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" },
          user: {
            type: "http",
            scheme: "bearer",
            description: "the user's JWT (when USER_TOKEN_SECRET is set)",
          },
          metrics: { type: "http", scheme: "bearer", description: "METRICS_TOKEN (when set)" },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) ?? `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}

/** Codes every route may answer, whatever it does. */
export const COMMON_ERRORS: ErrorCode[] = ["invalid_request", "rate_limited", "unavailable"];

/**
 * Response schemas for the error codes a route can answer, grouped by HTTP
 * status. Each response's description names its codes in backticks, which is
 * how test/domain/errors.test.ts checks the document against the catalogue.
 */
export function errorResponses(...codes: ErrorCode[]): Record<number, object> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, object> = {};
  for (const [status, list] of byStatus) {
    responses[status] = {
      description: list.map((c) => `\`${c}\`: ${ERROR_CATALOGUE[c].message}`).join(" "),
      $ref: "Error#",
    };
  }
  return responses;
}
