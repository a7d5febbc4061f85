/**
 * What an erased user's claims are held by from then on: a tombstone per
 * claim. The claim row stays (its unit stays consumed, and the ledger's unique
 * keys keep guarding it; see docs/lifecycle.md), only the userId goes. One
 * tombstone per claim keeps (campaign, user, seq) unique, and no client can
 * send it as a userId: it holds a colon after "erased", which is allowed, but
 * a claim id is 128 random bits nobody else knows.
 */
export const ERASED_PREFIX = "erased:";

export const erasedUserId = (claimId: string): string => `${ERASED_PREFIX}${claimId}`;
