import type { ApiDeps } from "../../http/deps.ts";
import type { CampaignStats } from "../../ports/stats.ts";

/** A section that did not answer in time (or threw) is reported, not awaited forever. */
const SECTION_TIMEOUT_MS = 5000;

/** At most this many campaigns, newest first, in the dashboard's snapshots. */
export const SNAPSHOT_CAMPAIGNS = 50;

/** Campaign counters as admission state holds them, newest first, at most `limit`, and how many there are. */
export async function campaignStats(
  deps: ApiDeps,
  limit = Infinity,
): Promise<{ campaigns: CampaignStats[]; total: number }> {
  const all = (await deps.admission.listCampaigns()).sort((a, b) => b.createdAt - a.createdAt);
  const campaigns = await Promise.all(
    all.slice(0, limit).map(async (c) => {
      const counters = (await deps.admission.counters(c.id)) ?? { admitted: 0, issued: 0 };
      return {
        id: c.id,
        name: c.name,
        stock: c.stock,
        issued: counters.issued,
        pending: counters.admitted - counters.issued,
        remaining: c.stock - counters.admitted,
      };
    }),
  );
  return { campaigns, total: all.length };
}

export async function queueStats(deps: ApiDeps) {
  if (!deps.queueLag) return undefined;
  const lag = await deps.queueLag();
  return { lag, total: lag.reduce((sum, l) => sum + l.lag, 0) };
}

/** The body of GET /v1/admin/stats. */
export async function collectStats(deps: ApiDeps, timeoutMs = SECTION_TIMEOUT_MS) {
  const sections: [string, () => Promise<unknown>][] = [
    ["campaigns", async () => (await campaignStats(deps)).campaigns],
    ["queue", () => queueStats(deps)],
    ...(deps.stats ?? []).map((s) => [s.name, () => s.collect()] as [string, () => Promise<unknown>]),
  ];
  const values = await Promise.all(sections.map(([, collect]) => settle(collect, timeoutMs)));
  const memory = process.memoryUsage();
  const body: Record<string, unknown> = {
    mode: deps.mode ?? "unknown",
    serverTime: new Date().toISOString(),
    process: {
      pid: process.pid,
      uptimeSeconds: Math.round(process.uptime()),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    },
  };
  sections.forEach(([name], i) => {
    if (values[i] !== undefined) body[name] = values[i];
  });
  return body;
}

async function settle(collect: () => Promise<unknown>, timeoutMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      collect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
