import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ExportService } from "../../services/export.ts";
import type { ExportFormat } from "../../services/export-format.ts";
import type { Guard } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import { campaignParams } from "../schemas/contract.ts";
import { exportQuery } from "../schemas/lifecycle.ts";

/**
 * GET /v1/campaigns/:id/export (admin): the campaign's issued claims, streamed
 * with backpressure (a slow client slows the reading, it does not fill
 * memory). Once the first byte is sent the status cannot change: a failure
 * mid-way aborts the response, so the client sees a truncated chunked body,
 * never a short one that looks complete.
 */
export interface ExportRouteOptions {
  /** EXPORT_CSV_NEUTRALISE: whether a CSV defuses formulas when the request does not say (default true). */
  neutraliseCsv?: boolean | undefined;
}

export function registerExportRoutes(
  app: FastifyInstance,
  exports: ExportService,
  admin: Guard,
  options: ExportRouteOptions = {},
): void {
  const neutraliseByDefault = options.neutraliseCsv ?? true;
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
          "CSV is RFC 4180 (header line, CRLF, quoted fields as needed). A CSV cell a spreadsheet would run " +
          "as a formula (starting with = + - @ TAB or CR) gets a leading ' unless spreadsheetSafe=false " +
          "(or EXPORT_CSV_NEUTRALISE=false makes that the default); NDJSON carries every value exactly.",
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
      const found = await exports.issuedClaims(request.params.id, {
        format: request.query.format ?? "ndjson",
        spreadsheetSafe:
          request.query.spreadsheetSafe === undefined
            ? neutraliseByDefault
            : request.query.spreadsheetSafe === "true",
      });
      reply
        .type(found.contentType)
        .header("content-disposition", `attachment; filename="${found.fileName}"`)
        .header("cache-control", "no-store");
      return reply.send(Readable.from(found.chunks, { objectMode: false, highWaterMark: 16 * 1024 }));
    },
  );
}
