import type { Ledger } from "../ports/ledger.ts";
import type { CampaignService } from "./campaigns.ts";
import { CONTENT_TYPES, type ExportFormat, exportChunks } from "./export-format.ts";

/** The chunks to stream, and how to label them. */
export interface ClaimExport {
  chunks: AsyncIterable<string>;
  contentType: string;
  fileName: string;
}

/**
 * A campaign's issued claims from the ledger (the truth), in unit order, as
 * text chunks to stream. Memory stays bounded whatever the size: the ledger
 * is read a page at a time, and only as fast as the caller takes the chunks
 * (the HTTP route writes them with backpressure).
 */
export class ExportService {
  readonly #ledger: Ledger;
  readonly #campaigns: CampaignService;

  constructor(ports: { ledger: Ledger; campaigns: CampaignService }) {
    this.#ledger = ports.ledger;
    this.#campaigns = ports.campaigns;
  }

  /** Throws campaign_not_found; once the chunks flow, a failure ends them with an error. */
  async issuedClaims(
    campaignId: string,
    options: { format: ExportFormat; spreadsheetSafe?: boolean },
  ): Promise<ClaimExport> {
    await this.#campaigns.requireInLedger(campaignId);
    return {
      chunks: exportChunks(this.#ledger.exportClaims(campaignId), options),
      contentType: CONTENT_TYPES[options.format],
      fileName: `${campaignId}-claims.${options.format}`,
    };
  }
}
