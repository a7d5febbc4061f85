import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import { CONTENT_TYPES, type ExportFormat, exportChunks } from "../../services/export-format.ts";
import type { Guard } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { exportQuery } from "../lifecycle-schemas.ts";
import { COMMON_ERRORS, errorResponses } from "../openapi.ts";
import { campaignParams } from "../schemas.ts";

/**
 * GET /v1/campaigns/:id/export (admin): the campaign's issued claims from the
 * ledger (the truth), streamed in unit order. Memory stays bounded whatever
 * the size: the ledger is read a page at a time and the response is written
 * with backpressure (a slow client slows the reading, it does not fill
 * memory). Once the first byte is sent the status cannot change: a failure
 * mid-way aborts the response, so the client sees a truncated chunked body,
 * never a short one that looks complete.
 */
export function registerExportRoutes(app: FastifyInstance, deps: ApiDeps, admin: Guard): void {
  app.get<{
    Params: { id: string };
    Querystring: { format?: ExportFormat; spreadsheetSafe?: "true" | "false" };
  }>(
    "/v1/campaigns/:id/export",
    {
      onRequest: admin,
      schema: {
        summary: "Export the campaign's issued claims as NDJSON or CSV, streamed (admin)",
        description:
          "Columns / fields: claimId, campaignId, userId, couponCode, unit, seq, admittedAt, issuedAt. " +
          "CSV is RFC 4180 (header line, CRLF, quoted fields as needed).",
        tags: ["delivery"],
        security: [{ admin: [] }],
        params: campaignParams,
        querystring: exportQuery,
        produces: ["application/x-ndjson", "text/csv"],
        response: {
          200: {
            description: "the claims, one per line",
            content: {
              "application/x-ndjson": { schema: { type: "string" } },
              "text/csv": { schema: { type: "string" } },
            },
          },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "campaign_not_found"),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const format = request.query.format ?? "ndjson";
      if (!(await deps.ledger.getCampaign(id))) throw new StampedeError("campaign_not_found");
      const chunks = exportChunks(deps.ledger.exportClaims(id), {
        format,
        spreadsheetSafe: request.query.spreadsheetSafe === "true",
      });
      reply
        .type(CONTENT_TYPES[format])
        .header("content-disposition", `attachment; filename="${id}-claims.${format}"`)
        .header("cache-control", "no-store");
      return reply.send(Readable.from(chunks, { objectMode: false, highWaterMark: 16 * 1024 }));
    },
  );
}
