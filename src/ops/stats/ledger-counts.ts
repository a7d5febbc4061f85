import type { Ledger } from "../../ports/ledger.ts";
import type { StatsSource } from "../../ports/stats.ts";

/**
 * Ledger counts through the Ledger interface only, so any ledger has them: the
 * number of campaigns and of issued claims, in total and per campaign. A
 * ledger that can count in one query may offer its own source instead.
 */
export function ledgerCountsSource(ledger: Ledger): StatsSource {
  return {
    name: "ledger",
    async collect() {
      const campaigns = await ledger.listCampaigns();
      const issued = await Promise.all(campaigns.map((c) => ledger.issuedCount(c.id)));
      const perCampaign: Record<string, number> = {};
      campaigns.forEach((c, i) => {
        perCampaign[c.id] = issued[i]!;
      });
      return {
        campaigns: campaigns.length,
        issuedClaims: issued.reduce((sum, n) => sum + n, 0),
        issuedByCampaign: perCampaign,
      };
    },
  };
}
