/**
 * A campaign's issued claims as NDJSON or CSV, one chunk of text per page of
 * claims from the ledger (Ledger.exportClaims): memory holds a page and its
 * chunk, never the campaign (the route streams the chunks with backpressure).
 *
 * CSV follows RFC 4180: a header line, CRLF line ends, and a field quoted
 * (with inner quotes doubled) when it holds a quote, a comma, CR or LF.
 * `spreadsheetSafe` also defuses cells a spreadsheet would run as a formula
 * (OWASP "CSV injection"): such a cell gets a leading apostrophe. That alters
 * the value, so it is off by default; NDJSON always carries values exactly.
 */
import type { Claim } from "../domain/types.ts";

export type ExportFormat = "ndjson" | "csv";

export interface ExportOptions {
  format: ExportFormat;
  spreadsheetSafe?: boolean;
}

export const CSV_COLUMNS = [
  "claimId",
  "campaignId",
  "userId",
  "couponCode",
  "unit",
  "seq",
  "admittedAt",
  "issuedAt",
] as const;

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: string, spreadsheetSafe = false): string {
  const safe = spreadsheetSafe && FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const iso = (ms: number | undefined) => (ms === undefined ? "" : new Date(ms).toISOString());

export function exportRecord(claim: Claim) {
  return {
    claimId: claim.claimId,
    campaignId: claim.campaignId,
    userId: claim.userId,
    couponCode: claim.couponCode,
    unit: claim.unit,
    seq: claim.seq,
    admittedAt: iso(claim.admittedAt),
    issuedAt: iso(claim.issuedAt),
  };
}

export function csvLine(claim: Claim, spreadsheetSafe = false): string {
  const r = exportRecord(claim);
  return `${CSV_COLUMNS.map((c) => csvField(String(r[c]), spreadsheetSafe)).join(",")}\r\n`;
}

export function ndjsonLine(claim: Claim): string {
  return `${JSON.stringify(exportRecord(claim))}\n`;
}

export async function* exportChunks(
  pages: AsyncIterable<readonly Claim[]>,
  options: ExportOptions,
): AsyncGenerator<string> {
  const safe = options.spreadsheetSafe ?? false;
  const line = options.format === "csv" ? (c: Claim) => csvLine(c, safe) : ndjsonLine;
  if (options.format === "csv") yield `${CSV_COLUMNS.join(",")}\r\n`;
  for await (const page of pages) {
    let chunk = "";
    for (const claim of page) chunk += line(claim);
    if (chunk !== "") yield chunk;
  }
}

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8; header=present",
};
