import { createHash } from "node:crypto";

/**
 * Every Redis key stampede writes, built here and nowhere else.
 *
 * All keys of one campaign carry the campaign's hash tag `{tag}`, so each
 * script touches one slot and works on Redis Cluster too. The tag is derived
 * from the campaign id (64 bits of SHA-256, base64url), so any process can
 * compute it; claim ids start with it, so `GET /v1/claims/:claimId` finds the
 * slot of a claim without knowing its campaign. Two campaigns sharing a tag
 * (about one chance in 10^8 with a million campaigns) only share a slot: key
 * names still contain the campaign id, and the per-tag claims hash stores the
 * campaign id in every entry.
 */
export const TAG_LENGTH = 11;
const TAG = /^[A-Za-z0-9_-]{11}$/;

/** Tags computed lately (a hash per claim request otherwise); bounded, since ids come from requests. */
const tags = new Map<string, string>();

export function campaignTag(campaignId: string): string {
  let tag = tags.get(campaignId);
  if (tag === undefined) {
    tag = createHash("sha256").update(campaignId).digest("base64url").slice(0, TAG_LENGTH);
    if (tags.size >= 10_000) tags.clear();
    tags.set(campaignId, tag);
  }
  return tag;
}

/** The tag a claim id starts with (distributed mode's claim ids), or undefined. */
export function claimTag(claimId: string): string | undefined {
  const tag = claimId.slice(0, TAG_LENGTH);
  return claimId.length > TAG_LENGTH && TAG.test(tag) ? tag : undefined;
}

export interface CampaignKeys {
  /** Hash: the campaign's definition, counters, status and epoch. The admission script reads only this for its decision. */
  state: string;
  /** Hash: userId -> "claimId:admittedAt[,claimId:admittedAt...]" in seq order. */
  holders: string;
  /** Hash shared by the campaigns of one tag: claimId -> packed claim, while the claim is pending. */
  claims: string;
  /** Stream of admitted claims (QUEUE=redis). */
  stream: string;
  /** Sorted set of claim ids awaiting the Kafka relay (QUEUE=kafka), scored by admission time. */
  outbox: string;
  /** List of units (1..next) freed by a rebuild (held by a claim that was lost with Redis). */
  free: string;
  /** Rebuild lock (SET NX PX). */
  lock: string;
  /** Placeholder key passed when a script has no idempotency key to touch (never written). */
  noIdempotency: string;
  /** Idempotency record of one (user, key). */
  idempotency(userId: string, key: string): string;
}

export class RedisKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error("REDIS_PREFIX must not contain { or }");
    this.prefix = prefix;
  }

  campaign(campaignId: string): CampaignKeys {
    const tag = campaignTag(campaignId);
    const base = `${this.prefix}:{${tag}}:c:${campaignId}`;
    return {
      state: base,
      holders: `${base}:holders`,
      claims: this.claimsOfTag(tag),
      stream: `${base}:stream`,
      outbox: `${base}:outbox`,
      free: `${base}:free`,
      lock: `${base}:rebuild-lock`,
      noIdempotency: `${base}:idem:-`,
      idempotency: (userId, key) =>
        `${base}:idem:${createHash("sha256").update(userId).update("\u0000").update(key).digest("base64url").slice(0, 22)}`,
    };
  }

  claimsOfTag(tag: string): string {
    return `${this.prefix}:{${tag}}:claims`;
  }

  /** The claims hash a claim id points at, or undefined for an id that is not distributed mode's. */
  claimsOf(claimId: string): string | undefined {
    const tag = claimTag(claimId);
    return tag && this.claimsOfTag(tag);
  }

  /** Set of campaign ids whose streams workers read (a global key, used alone). */
  get registry(): string {
    return `${this.prefix}:campaigns`;
  }

  /** Pub/sub channel of issued claims. */
  get issuedChannel(): string {
    return `${this.prefix}:issued`;
  }

  /** Every key of this prefix matches this (cleanup, memory reports). */
  get pattern(): string {
    return `${this.prefix}:*`;
  }
}
