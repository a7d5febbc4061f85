import type { QueueLag } from "../../ports/queue.ts";
import type { CampaignStats, StatsSource } from "../../ports/stats.ts";

/** A section that did not answer in time (or threw) is reported, not awaited forever. */
export const SECTION_TIMEOUT_MS = 5000;

/** At most this many campaigns, newest first, in the dashboard's snapshots. */
export const SNAPSHOT_CAMPAIGNS = 50;

/** What GET /v1/admin/stats and the dashboard read. */
export interface StatsInputs {
  /** "embedded", "api", ... */
  mode?: string | undefined;
  /** The newest `limit` campaigns (all when absent) with their counters, and how many there are. */
  campaigns(limit?: number): Promise<{ campaigns: CampaignStats[]; total: number }>;
  /** Queue lag per partition or stream. */
  queueLag?: (() => Promise<QueueLag[]>) | undefined;
  /** Mode- and adapter-specific sections (ledger counts, Redis memory, ...). */
  sections?: readonly StatsSource[] | undefined;
  /**
   * How long each section may take before it reads `{error}` (SECTION_TIMEOUT_MS
   * when absent): shorter than the request's deadline, so that a silent
   * dependency costs its section, not the whole answer.
   */
  sectionTimeoutMs?: number | undefined;
}

export async function queueStats(inputs: Pick<StatsInputs, "queueLag">) {
  if (!inputs.queueLag) return undefined;
  const lag = await inputs.queueLag();
  return { lag, total: lag.reduce((sum, l) => sum + l.lag, 0) };
}

/** The body of GET /v1/admin/stats. */
export async function collectStats(
  inputs: StatsInputs,
  timeoutMs = inputs.sectionTimeoutMs ?? SECTION_TIMEOUT_MS,
) {
  const sections: [string, () => Promise<unknown>][] = [
    ["campaigns", async () => (await inputs.campaigns()).campaigns],
    ["queue", () => queueStats(inputs)],
    ...(inputs.sections ?? []).map((s) => [s.name, () => s.collect()] as [string, () => Promise<unknown>]),
  ];
  const values = await Promise.all(sections.map(([, collect]) => settle(collect, timeoutMs)));
  const memory = process.memoryUsage();
  const body: Record<string, unknown> = {
    mode: inputs.mode ?? "unknown",
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

/** What `collect` resolves with, or `{error}` once it threw or `timeoutMs` passed. */
export async function settle(collect: () => Promise<unknown>, timeoutMs: number): Promise<unknown> {
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
