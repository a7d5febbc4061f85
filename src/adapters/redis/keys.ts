/**
 * Every Redis key and pub/sub channel stampede uses, built here and nowhere
 * else, all under REDIS_PREFIX (`prefix:` + layout).
 *
 * KEY_FAMILIES declares each kind of key by its layout: `{tag}` is a
 * campaign's hash tag, `<name>` an id. The builders below fill these layouts
 * in, and the Redis memory report (stats/key-families.ts) groups the keys it
 * finds by the same layouts, so an id never becomes a family of its own.
 *
 * All keys of one campaign carry the campaign's hash tag `{tag}`, so each
 * script touches one slot and works on Redis Cluster too. The task store's
 * hashes and its two sorted sets share the fixed tag `{tasks}` (its scripts
 * touch a task and the sets together); every other key (the campaigns and
 * holds registries, the tasks stream, an idempotency key of a task, the
 * buckets of a rate limiter used on its own) is used alone, by one command
 * or a one-key script, in whatever slot it lands. The tag is derived
 * from the campaign id (64 bits of SHA-256, base64url), so any process can
 * compute it; claim ids start with it, so `GET /v1/claims/:claimId` finds the
 * slot of a claim without knowing its campaign. Two campaigns sharing a tag
 * (about one chance in 10^8 with a million campaigns) only share a slot: key
 * names still contain the campaign id, and the per-tag claims hash stores the
 * campaign id in every entry.
 */

import { createHash } from "node:crypto";
import { BoundedCache } from "../../domain/bounded-cache.ts";
import { MAX_SHARDS } from "../../domain/shards.ts";

const WITHOUT_COLON = new Set(["campaign", "hash"]);

/** One kind of key: its layout, the name the memory report gives it, and how to build and recognise one. */
export class KeyLayout {
  /** The layout after `prefix:`, e.g. `{tag}:c:<campaign>:holders`. */
  readonly layout: string;
  /** What the report calls it: the layout with every hole a `*`, e.g. `{*}:c:*:holders`. */
  readonly name: string;
  readonly about: string;
  /** Literal text at even indexes, hole names at odd ones. */
  readonly #parts: string[];
  readonly #pattern: RegExp;

  constructor(layout: string, about: string) {
    this.layout = layout;
    this.about = about;
    this.#parts = layout.split(/\{(tag)\}|<(\w+)>/).filter((part) => part !== undefined);
    this.name = this.#parts.map((part, i) => (i % 2 === 0 ? part : part === "tag" ? "{*}" : "*")).join("");
    const source = this.#parts
      .map((part, i) => {
        if (i % 2 === 0) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        if (part === "tag") return "\\{[^}]*\\}";
        // Campaign ids never hold ':' (ID_PATTERN); user ids, IPv6 addresses and task keys may.
        return WITHOUT_COLON.has(part) ? "[^:]+" : ".+";
      })
      .join("");
    this.#pattern = new RegExp(`^${source}$`);
  }

  /** The key of this layout for these ids, without the prefix. */
  fill(ids: Readonly<Record<string, string>>): string {
    let out = "";
    for (let i = 0; i < this.#parts.length; i++) {
      const part = this.#parts[i]!;
      if (i % 2 === 0) out += part;
      else if (part === "tag") out += `{${ids.tag}}`;
      else out += ids[part];
    }
    return out;
  }

  /** Whether a key (prefix removed) has this layout. */
  matches(rest: string): boolean {
    return this.#pattern.test(rest);
  }
}

export const KEY_FAMILIES = {
  state: new KeyLayout(
    "{tag}:c:<campaign>",
    "hash: a campaign's definition, counters, status and epoch; the admission script decides from it alone",
  ),
  holders: new KeyLayout(
    "{tag}:c:<campaign>:holders",
    'hash: userId -> "claimId:admittedAt:seq[,...]" in seq order',
  ),
  claims: new KeyLayout(
    "{tag}:claims",
    "hash shared by the campaigns of one tag: claimId -> packed claim, until the ledger holds its final status",
  ),
  stream: new KeyLayout("{tag}:c:<campaign>:stream", "stream of admitted claims (QUEUE=redis)"),
  outbox: new KeyLayout(
    "{tag}:c:<campaign>:outbox",
    "sorted set of claim ids awaiting the Kafka relay (QUEUE=kafka), scored by admission time",
  ),
  free: new KeyLayout(
    "{tag}:c:<campaign>:free",
    "list of units given back (by an expired or released hold, or a rebuild) to hand out first",
  ),
  expiries: new KeyLayout(
    "{tag}:c:<campaign>:expiries",
    "sorted set: the campaign's live holds, claimId scored by expiresAt (what the reapers expire)",
  ),
  roomLine: new KeyLayout(
    "{tag}:c:<campaign>:line",
    "sorted set, scores 0: the waiting room's line, order key + ticket id, bytewise in draw order (lua/includes/room.lua)",
  ),
  roomTickets: new KeyLayout(
    "{tag}:c:<campaign>:tickets",
    "hash: the waiting room's tickets, ticket id -> order key, userId, joinedAt and, once released, its claim id",
  ),
  rebuildLock: new KeyLayout("{tag}:c:<campaign>:rebuild-lock", "string: a rebuild's lock (SET NX PX)"),
  idempotency: new KeyLayout(
    "{tag}:c:<campaign>:idem:<hash>",
    "string: the first answer to one (user, Idempotency-Key)",
  ),
  claimRateUser: new KeyLayout(
    "{tag}:c:<campaign>:rl:u:<user>",
    "string: a user's claim rate-limit bucket in one campaign (its TAT; admit-9.lua)",
  ),
  claimRateIp: new KeyLayout(
    "{tag}:c:<campaign>:rl:ip:<address>",
    "string: a client address's claim rate-limit bucket in one campaign (its TAT; admit-9.lua)",
  ),
  transfers: new KeyLayout(
    "{tag}:c:<campaign>:transfers",
    "hash, campaigns over shards: transfers out of this shard not yet settled, id -> receiving shard and units",
  ),
  received: new KeyLayout(
    "{tag}:c:<campaign>:received",
    "set, campaigns over shards: the transfer ids this shard has deposited (a transfer applies once)",
  ),
  registry: new KeyLayout("campaigns", "set of the campaign ids whose streams and outboxes workers read"),
  holdsRegistry: new KeyLayout(
    "holds",
    "set of the campaign ids with holds, whose expiries the reapers watch",
  ),
  shardedRegistry: new KeyLayout(
    "sharded",
    "set of the campaign ids over shards, whose unsettled transfers the workers' sweep completes",
  ),
  roomsRegistry: new KeyLayout(
    "rooms",
    "set of the campaign ids with a waiting room, whose lines the workers' releasers move",
  ),
  task: new KeyLayout("{tasks}:task:<task>", "hash: one task's record"),
  taskDue: new KeyLayout(
    "{tasks}:due",
    "sorted set: task id -> when to publish it again (retry, or lease end)",
  ),
  taskDead: new KeyLayout("{tasks}:dead", "sorted set: task id -> when it was dead-lettered"),
  taskStream: new KeyLayout("tasks:stream", "stream of task messages (QUEUE=redis)"),
  taskIdempotency: new KeyLayout("task-key:<key>", "string: the task message an Idempotency-Key produced"),
  rateLimitUser: new KeyLayout(
    "rl:u:<campaign>:<user>",
    "string: a user's rate-limit bucket (its TAT), of a limiter used on its own (rate-limiter.ts)",
  ),
  rateLimitIp: new KeyLayout(
    "rl:ip:<address>",
    "string: a client address's rate-limit bucket (its TAT), of a limiter used on its own",
  ),
} as const;

export const TAG_LENGTH = 11;
const TAG = /^[A-Za-z0-9_-]{11}$/;

/** Computed lately (a hash per claim request otherwise); bounded, since ids come from requests. */
const tags = new BoundedCache<string, string>({ maxSize: 10_000 });

export function campaignTag(campaignId: string): string {
  let tag = tags.get(campaignId);
  if (tag === undefined) {
    tag = createHash("sha256").update(campaignId).digest("base64url").slice(0, TAG_LENGTH);
    tags.set(campaignId, tag);
  }
  return tag;
}

/**
 * A campaign over shards (docs/scaling.md "Hot campaign: shards") keeps each
 * shard under a hash tag of its own, so its shards spread over a Redis
 * Cluster's masters. A shard is named by a ref, `campaignId:s<n>` (campaign
 * ids never hold ':'), which stands wherever a campaign id names a slot:
 * keys, the workers' registry of streams, memory answers. Shard 0 keeps the
 * campaign's own tag (a campaign with one shard is as before); shard n > 0
 * takes the tag of its ref. Claim ids start with their shard's tag, so any
 * process finds a claim's shard from its id (shardOfClaim).
 */
export function shardRef(campaignId: string, shard: number): string {
  return `${campaignId}:s${shard}`;
}

/** The campaign id and shard a ref (or a plain campaign id: shard 0) names. */
export function parseRef(ref: string): { campaignId: string; shard: number } {
  const at = ref.indexOf(":s");
  if (at === -1) return { campaignId: ref, shard: 0 };
  return { campaignId: ref.slice(0, at), shard: Number(ref.slice(at + 2)) };
}

/** The hash tag of a ref's slot (a plain id's, or shard 0's: the campaign's own). */
export function refTag(ref: string): string {
  const { campaignId, shard } = parseRef(ref);
  return shard === 0 ? campaignTag(campaignId) : campaignTag(ref);
}

/** The shard a claim of this campaign lives in, by its id's tag (0 when it is none of shards 1..15). */
export function shardOfClaim(campaignId: string, claimId: string): number {
  const tag = claimTag(claimId);
  if (tag === undefined || tag === campaignTag(campaignId)) return 0;
  for (let shard = 1; shard < MAX_SHARDS; shard++)
    if (campaignTag(shardRef(campaignId, shard)) === tag) return shard;
  return 0;
}

/** The ref of the slot a claim lives in: its campaign's id (shard 0), or its shard's ref. */
export function claimRef(campaignId: string, claimId: string): string {
  const shard = shardOfClaim(campaignId, claimId);
  return shard === 0 ? campaignId : shardRef(campaignId, shard);
}

/** The tag a claim id starts with (distributed mode's claim ids), or undefined. */
export function claimTag(claimId: string): string | undefined {
  const tag = claimId.slice(0, TAG_LENGTH);
  return claimId.length > TAG_LENGTH && TAG.test(tag) ? tag : undefined;
}

/** The keys of one campaign (see KEY_FAMILIES for what each holds). */
export interface CampaignKeys {
  state: string;
  holders: string;
  claims: string;
  stream: string;
  outbox: string;
  free: string;
  /** Holds: live holds by expiresAt. */
  expiries: string;
  /** Waiting room: the line (sorted set) and its tickets (hash). */
  line: string;
  tickets: string;
  lock: string;
  /** Campaigns over shards: this shard's unsettled transfers out, and the transfers it deposited. */
  transfers: string;
  received: string;
  /** Placeholder key passed for a script's KEYS slot it will not touch (no idempotency key, a limit off); never written. */
  noIdempotency: string;
  idempotency(userId: string, key: string): string;
  /** The claim rate-limit buckets of admit-9.lua: in the campaign's slot, so per campaign. */
  rateUser(userId: string): string;
  rateIp(address: string): string;
}

/** The task store's keys and channels. */
export interface TaskKeys {
  /** What every task hash starts with, for scripts that build them from ids. */
  taskPrefix: string;
  task(taskId: string): string;
  due: string;
  dead: string;
  stream: string;
  idempotency(key: string): string;
  /** Pub/sub channel: the task's hash after each change. */
  events(taskId: string): string;
}

export class RedisKeys {
  readonly prefix: string;
  readonly tasks: TaskKeys;
  readonly #campaigns = new BoundedCache<string, CampaignKeys>({ maxSize: 10_000 });

  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error("REDIS_PREFIX must not contain { or }");
    this.prefix = prefix;
    const key = (layout: KeyLayout, ids?: Record<string, string>) => this.#key(layout, ids);
    this.tasks = {
      taskPrefix: key(KEY_FAMILIES.task, { task: "" }),
      task: (task) => key(KEY_FAMILIES.task, { task }),
      due: key(KEY_FAMILIES.taskDue),
      dead: key(KEY_FAMILIES.taskDead),
      stream: key(KEY_FAMILIES.taskStream),
      idempotency: (taskKey) => key(KEY_FAMILIES.taskIdempotency, { key: taskKey }),
      events: (taskId) => `${prefix}:task-events:${taskId}`,
    };
  }

  #key(layout: KeyLayout, ids: Record<string, string> = {}): string {
    return `${this.prefix}:${layout.fill(ids)}`;
  }

  /** The keys of a campaign, or of one shard of it when given a ref (shardRef). */
  campaign(ref: string): CampaignKeys {
    let keys = this.#campaigns.get(ref);
    if (keys === undefined) {
      const ids = { tag: refTag(ref), campaign: parseRef(ref).campaignId };
      const idempotency = (hash: string) => this.#key(KEY_FAMILIES.idempotency, { ...ids, hash });
      keys = {
        state: this.#key(KEY_FAMILIES.state, ids),
        holders: this.#key(KEY_FAMILIES.holders, ids),
        claims: this.claimsOfTag(ids.tag),
        stream: this.#key(KEY_FAMILIES.stream, ids),
        outbox: this.#key(KEY_FAMILIES.outbox, ids),
        free: this.#key(KEY_FAMILIES.free, ids),
        expiries: this.#key(KEY_FAMILIES.expiries, ids),
        line: this.#key(KEY_FAMILIES.roomLine, ids),
        tickets: this.#key(KEY_FAMILIES.roomTickets, ids),
        lock: this.#key(KEY_FAMILIES.rebuildLock, ids),
        transfers: this.#key(KEY_FAMILIES.transfers, ids),
        received: this.#key(KEY_FAMILIES.received, ids),
        noIdempotency: idempotency("-"),
        idempotency: (userId, key) =>
          idempotency(
            createHash("sha256").update(userId).update("\u0000").update(key).digest("base64url").slice(0, 22),
          ),
        rateUser: (user) => this.#key(KEY_FAMILIES.claimRateUser, { ...ids, user }),
        rateIp: (address) => this.#key(KEY_FAMILIES.claimRateIp, { ...ids, address }),
      };
      this.#campaigns.set(ref, keys);
    }
    return keys;
  }

  claimsOfTag(tag: string): string {
    return this.#key(KEY_FAMILIES.claims, { tag });
  }

  /** The claims hash a claim id points at, or undefined for an id that is not distributed mode's. */
  claimsOf(claimId: string): string | undefined {
    const tag = claimTag(claimId);
    return tag && this.claimsOfTag(tag);
  }

  get registry(): string {
    return this.#key(KEY_FAMILIES.registry);
  }

  /** The campaigns with holds (a subset of the registry): what the reapers look at. */
  get holdsRegistry(): string {
    return this.#key(KEY_FAMILIES.holdsRegistry);
  }

  /** The campaigns over shards: whose unsettled transfers the workers' sweep completes. */
  get shardedRegistry(): string {
    return this.#key(KEY_FAMILIES.shardedRegistry);
  }

  /** The campaigns with a waiting room (a subset of the registry): what the releasers move. */
  get roomsRegistry(): string {
    return this.#key(KEY_FAMILIES.roomsRegistry);
  }

  /** The rate limiter's buckets: one per (campaign, user), one per client address. */
  rateLimitUser(campaignId: string, userId: string): string {
    return this.#key(KEY_FAMILIES.rateLimitUser, { campaign: campaignId, user: userId });
  }

  rateLimitIp(address: string): string {
    return this.#key(KEY_FAMILIES.rateLimitIp, { address });
  }

  /** Pub/sub channel of issued claims (a channel holds no memory: no family). */
  get issuedChannel(): string {
    return `${this.prefix}:issued`;
  }

  /**
   * Pub/sub channel of campaign events ("<kind> <campaignId>": sold_out, hold,
   * changed, forgot, rebuilding, returned), what API processes answer from memory
   * listens to (admission/campaign-events.ts). One channel for all campaigns:
   * PUBLISH reaches every node of a Redis Cluster.
   */
  get campaignEventsChannel(): string {
    return `${this.prefix}:campaign-events`;
  }

  /**
   * Pub/sub channel of waiting-room events ("<kind> <campaignId>": moved, sold_out), published by
   * the release script: what ticket event streams wait on, one subscription per process.
   */
  get roomEventsChannel(): string {
    return `${this.prefix}:room-events`;
  }

  /** Every key of this prefix matches this (cleanup, memory reports). */
  get pattern(): string {
    return `${this.prefix}:*`;
  }
}
