import type { Logger } from "pino";

/**
 * One pass of a worker's periodic job over campaigns (./hold-reaper.ts,
 * ./room-releaser.ts): `work` runs for every campaign at once; a campaign
 * whose work fails is logged with `failureMessage` and counts nothing, the
 * others go on. Returns the sum of what the work counted.
 */
export async function campaignPass(
  campaigns: readonly string[],
  work: (campaignId: string) => Promise<number>,
  logger: Logger,
  failureMessage: string,
): Promise<number> {
  const results = await Promise.allSettled(campaigns.map((id) => work(id)));
  let total = 0;
  results.forEach((result, i) => {
    if (result.status === "fulfilled") total += result.value;
    else logger.warn({ err: result.reason, campaignId: campaigns[i] }, failureMessage);
  });
  return total;
}
