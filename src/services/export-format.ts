/**
 * A campaign's final claims (issued; for holds also expired and released)
 * as NDJSON or CSV, one chunk of text per page of
 * claims from the ledger (Ledger.exportClaims): memory holds a page and its
 * chunk, never the campaign (the route streams the chunks with backpressure).
 *
 * CSV follows RFC 4180: a header line, CRLF line ends, and a field quoted
 * (with inner quotes doubled) when it holds a quote, a comma, CR or LF.
 *
 * A CSV export is opened in a spreadsheet, and userIds come from the public:
 * a cell starting with = + - @ TAB or CR would run as a formula there (OWASP
 * "CSV injection", e.g. `=cmd|' /C calc'!A0`). `spreadsheetSafe`, on unless
 * turned off (EXPORT_CSV_NEUTRALISE=false, or `?spreadsheetSafe=false`),
 * defuses such a cell with a leading apostrophe. That alters the value:
 * whoever needs values exactly takes NDJSON, which always carries them so.
 *
 * Columns: the claim's, then `status` and, for holds, `expiresAt` and
 * `endedAt` (added after the first releases' columns, so a reader of those
 * by position still reads them; empty in CSV and absent in NDJSON for a
 * claim without them).
 */
import type { Claim } from "../domain/types.ts";

export type ExportFormat = "ndjson" | "csv";

export interface ExportOptions {
  format: ExportFormat;
  /** CSV only: defuse cells a spreadsheet would run as a formula (default true). */
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
  "status",
  "expiresAt",
  "endedAt",
] as const;

const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: string, spreadsheetSafe = true): string {
  const safe = spreadsheetSafe && FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const iso = (ms: number | undefined) => (ms === undefined ? "" : new Date(ms).toISOString());

export interface ExportRecord {
  claimId: string;
  campaignId: string;
  userId: string;
  couponCode: string;
  unit: number;
  seq: number;
  admittedAt: string;
  /** "" unless issued. */
  issuedAt: string;
  status: Claim["status"];
  expiresAt?: string;
  endedAt?: string;
}

export function exportRecord(claim: Claim): ExportRecord {
  const record: ExportRecord = {
    claimId: claim.claimId,
    campaignId: claim.campaignId,
    userId: claim.userId,
    couponCode: claim.couponCode,
    unit: claim.unit,
    seq: claim.seq,
    admittedAt: iso(claim.admittedAt),
    issuedAt: iso(claim.issuedAt),
    status: claim.status,
  };
  if (claim.expiresAt !== undefined) record.expiresAt = iso(claim.expiresAt);
  if (claim.endedAt !== undefined) record.endedAt = iso(claim.endedAt);
  return record;
}

export function csvLine(claim: Claim, spreadsheetSafe = true): string {
  const r = exportRecord(claim);
  return `${CSV_COLUMNS.map((c) => csvField(String(r[c] ?? ""), spreadsheetSafe)).join(",")}\r\n`;
}

export function ndjsonLine(claim: Claim): string {
  return `${JSON.stringify(exportRecord(claim))}\n`;
}

export async function* exportChunks(
  pages: AsyncIterable<readonly Claim[]>,
  options: ExportOptions,
): AsyncGenerator<string> {
  const safe = options.spreadsheetSafe ?? true;
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
