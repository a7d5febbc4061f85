/**
 * Reads back, through the API, every claim a 202 or 409 named, and the claim
 * lists of a sample of users who sent more than once. The reads go through
 * the generator process (its HTTP client costs a fifth of fetch's), spread
 * over every target.
 */

import type { Generator } from "./generator/spawn.ts";
import type { ClaimRead } from "./invariants.ts";

const READ_CONCURRENCY = 128;

interface ClaimBody {
  userId?: string;
  status?: string;
  couponCode?: string;
  admittedAt?: string;
  issuedAt?: string;
  claimId?: string;
}

const parse = (text: string): ClaimBody | undefined => {
  try {
    return JSON.parse(text) as ClaimBody;
  } catch {
    return undefined;
  }
};

export async function readClaims(
  generator: Generator,
  targets: string[],
  claimIds: string[],
  timeoutMs: number,
): Promise<Map<string, ClaimRead>> {
  const result = await generator.read({
    targets,
    paths: claimIds.map((id) => `/v1/claims/${encodeURIComponent(id)}`),
    concurrency: READ_CONCURRENCY,
    timeoutMs,
  });
  const reads = new Map<string, ClaimRead>();
  claimIds.forEach((id, i) => {
    const http = result.status[i]!;
    const body = http === 200 ? parse(result.body[i]!) : undefined;
    reads.set(id, {
      http,
      userId: body?.userId,
      status: body?.status,
      couponCode: body?.couponCode,
      admittedAt: body?.admittedAt ? Date.parse(body.admittedAt) : undefined,
      issuedAt: body?.issuedAt ? Date.parse(body.issuedAt) : undefined,
    });
  });
  return reads;
}

export async function readUserClaims(
  generator: Generator,
  targets: string[],
  campaignId: string,
  adminToken: string,
  users: number[],
  userIdOf: (index: number) => string,
  timeoutMs: number,
): Promise<{ lists: Map<number, string[]>; failed: number }> {
  const base = `/v1/campaigns/${encodeURIComponent(campaignId)}/users/`;
  const result = await generator.read({
    targets,
    paths: users.map((u) => `${base}${encodeURIComponent(userIdOf(u))}/claims`),
    headers: { authorization: `Bearer ${adminToken}` },
    concurrency: READ_CONCURRENCY,
    timeoutMs,
  });
  const lists = new Map<number, string[]>();
  let failed = 0;
  users.forEach((user, i) => {
    const body = result.status[i] === 200 ? (parse(result.body[i]!) as { claims?: ClaimBody[] }) : undefined;
    if (!body?.claims) {
      failed++;
      return;
    }
    lists.set(
      user,
      body.claims.map((c) => c.claimId ?? ""),
    );
  });
  return { lists, failed };
}
