/**
 * A campaign's claims a page at a time, by keyset: each page is a query of
 * its own (`key > the previous page's last key ORDER BY key LIMIT n`), so no
 * cursor or statement stays open while the caller awaits between pages, and
 * memory holds one page however many claims there are. Written once for both
 * SQL ledgers; each supplies the page query.
 *
 * Two keys: the unit, unique among a campaign's active claims (held, issued:
 * campaignClaims()), and (unit, claimId), unique among all of them (the
 * export: a unit given back by an expired or released hold is handed out
 * again, so one unit may have several final claims).
 */
import type { Claim } from "../../domain/types.ts";

/** A page after `after` (undefined: the first page). */
export type ReadPage<K> = (after: K | undefined, limit: number) => Promise<Claim[]> | Claim[];

export async function* keysetPages<K>(
  readPage: ReadPage<K>,
  keyOf: (claim: Claim) => K,
  pageSize: number,
): AsyncGenerator<readonly Claim[]> {
  let after: K | undefined;
  for (;;) {
    const page = await readPage(after, pageSize);
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    after = keyOf(page.at(-1)!);
  }
}

/** The key of campaignClaims(): units start at 1, so "after unit 0" is the first page. */
export const unitKey = (claim: Claim): number => claim.unit;

/** The key of exportClaims(). */
export interface UnitClaimKey {
  unit: number;
  claimId: string;
}
export const unitClaimKey = (claim: Claim): UnitClaimKey => ({ unit: claim.unit, claimId: claim.claimId });
/** Before every claim: units start at 1. */
export const FIRST_UNIT_CLAIM: UnitClaimKey = { unit: 0, claimId: "" };

export async function* eachClaim(pages: AsyncIterable<readonly Claim[]>): AsyncGenerator<Claim> {
  for await (const page of pages) yield* page;
}

/** campaignClaims(): a campaign's active claims one by one, a page of `pageSize` at a time, by unit. */
export function activeClaimsByUnit(
  readPage: (afterUnit: number, limit: number) => Promise<Claim[]> | Claim[],
  pageSize: number,
): AsyncGenerator<Claim> {
  return eachClaim(keysetPages((after, limit) => readPage(after ?? 0, limit), unitKey, pageSize));
}

/** exportClaims(): a campaign's final claims a page of `pageSize` at a time, by (unit, claimId). */
export function finalClaimPages(
  readPage: (after: UnitClaimKey, limit: number) => Promise<Claim[]> | Claim[],
  pageSize: number,
): AsyncGenerator<readonly Claim[]> {
  return keysetPages((after, limit) => readPage(after ?? FIRST_UNIT_CLAIM, limit), unitClaimKey, pageSize);
}
