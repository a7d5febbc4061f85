/**
 * The few API calls `stampede bench` makes outside the firing phase
 * (creating the campaign, reading its counters), with the global fetch.
 */

export interface CampaignView {
  id: string;
  stock: number;
  perUserLimit: number;
  issued: number;
  pending: number;
  remaining: number;
}

export class BenchApiError extends Error {}

const TIMEOUT_MS = 10_000;

export async function createCampaign(
  target: string,
  adminToken: string | undefined,
  body: { id: string; name: string; stock: number; perUserLimit: number; shards?: number },
): Promise<CampaignView> {
  if (!adminToken)
    throw new BenchApiError(
      "no admin token: pass --admin-token, set ADMIN_TOKEN, or run where $DATA_DIR/admin-token is readable",
    );
  let res: Response;
  try {
    res = await fetch(`${target}/v1/campaigns`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new BenchApiError(`cannot reach ${target}: ${describe(error)}`);
  }
  const text = await res.text();
  if (res.status !== 201)
    throw new BenchApiError(`creating the campaign at ${target}: ${res.status} ${text}`);
  return JSON.parse(text) as CampaignView;
}

export async function readCampaign(target: string, id: string): Promise<CampaignView> {
  const res = await fetch(`${target}/v1/campaigns/${encodeURIComponent(id)}`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new BenchApiError(`reading campaign ${id}: ${res.status} ${text}`);
  return JSON.parse(text) as CampaignView;
}

export function describe(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
