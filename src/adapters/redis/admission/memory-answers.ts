import type { Logger } from "pino";
import type { NotActiveReason } from "../../../ports/admission.ts";
import { PeriodicTask } from "../../../workers/periodic-task.ts";
import type { RedisClient } from "../connection.ts";
import { parseRef, type RedisKeys } from "../keys.ts";
import { redisScripts, type Scripts } from "../scripts.ts";

/** How long an entry is trusted after the Redis read that last confirmed it. */
export const CACHE_LEASE_MS = 1000;
const REFRESH_MS = 250;
/** How far this host's clock may be from Redis' (TIME): near a window edge Redis decides. */
const CLOCK_SKEW_MS = 2000;
/** Campaigns remembered at once (each with at most maxHolders holders). */
const MAX_ENTRIES = 1000;
/** An entry without a campaign-wide answer whose lease lapsed this long ago is dropped. */
const FORGET_AFTER_MS = 10_000;

export interface HolderRef {
  claimId: string;
  admittedAt: number;
  seq: number;
}

/** What one user of a campaign is answered from memory. */
export type MemoryAnswer =
  | { kind: "sold_out" }
  | { kind: "not_active"; reason: NotActiveReason }
  | { kind: "holder"; holder: HolderRef };

/** The answer every user without a full set of claims gets (after 409, in the contract's order). */
type CampaignAnswer = NotActiveReason | "sold_out";

/** What a reply of admit-9.lua taught (see learn()). */
export type Lesson =
  /**
   * The user holds a full set of claims, the most recent of which, `ref`
   * ("claimId:admittedAt:seq"), is issued; `admitted`: this reply admitted it.
   */
  | { kind: "holder"; ref: string; admitted: boolean }
  /** A claim was admitted (the campaign is open now: no campaign-wide answer holds). */
  | { kind: "admitted" }
  /** Sold out or not active: worth a snapshot of what may be answered from memory. */
  | { kind: "refused" }
  /** Nothing about the campaign, but the lease token is fresh (a 429, a full queue). */
  | { kind: "none" };

interface Entry {
  /** The state's "epoch:rev" this entry was read at. */
  lease: string;
  /** performance.now() until which it is trusted. */
  validUntil: number;
  /** performance.now() at which its snapshot was asked for (0: no snapshot). */
  readAt: number;
  /** Set (from a snapshot) only when `holders` holds every holder. */
  answer: CampaignAnswer | undefined;
  startsAt: number | null;
  endsAt: number | null;
  /** Every claim admitted at `lease` is issued (a 409's status is then "issued"). */
  allIssued: boolean;
  /** userId -> "claimId:admittedAt:seq" of the most recent claim of a user at the limit; null: below it. */
  holders: Map<string, string | null>;
  /** Users a reply named an issued claim of (learned holders all are). */
  issued: Set<string>;
}

export interface MemoryAnswersOptions {
  redis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  /** Campaigns with more holders get no campaign-wide answer from memory; 0 turns memory answers off. */
  maxHolders: number;
}

/**
 * What one API process answers from memory (SPEC "Claims": an answer a
 * process can give from what it already knows may come before the rate
 * limiter): 410 for a campaign it knows to be sold out, 403 for one it knows
 * to be closed, not started, ended or paused, 409 for a holder it knows.
 * Such a request makes no Redis call at all. It learns from every admission
 * reply (each carries the state's lease token, admit-9.lua), from snapshots
 * (answer-snapshot-2.lua, loaded once a reply or an event says the campaign
 * refuses everyone) and from the campaign events channel (campaign-events.ts).
 *
 * It may only ever be wrong in the safe direction:
 *
 * - **It never answers 410 or 403 once the campaign takes claims again.**
 *   Every entry is a lease, bound to the state's `epoch:rev` and trusted for
 *   LEASE ms from the moment the request that read it was SENT (so from
 *   before Redis read it), renewed by the refresh (every REFRESH ms) and by
 *   any reply with the same token. Whatever lets claims in again first
 *   changes the token and stops it from being leased: a stock raise, a resume
 *   or a later end sets `hold` (lifecycle.ts; leases are refused while it is
 *   set, replies carry "" as their token) and a rebuild marks the state
 *   `rebuilding`; then it waits a full lease, then applies. A process that
 *   read the state before the hold got its lease before the hold, so the
 *   lease ran out before the change applies; one that reads it after gets no
 *   lease. Pub/sub only makes the drop prompt (hold, changed, rebuilding:
 *   entries go at once); it is not needed for safety, so a lost message is
 *   harmless. Anything added later that frees a unit must follow the same
 *   rule (change rev, hold, wait CACHE_LEASE_MS).
 * - **Holds are the one exception, and are never answered 410 from
 *   memory.** A hold that expires or is released gives its unit back at
 *   once (docs/api.md "Holds": `remaining` rises at once), with no change of
 *   rev and no wait, so no lease could cover it: a campaign with holds gets
 *   no sold_out snapshot (answer-snapshot-2.lua), admit-9.lua publishes no
 *   sold_out for it and its 410 replies carry no lease (so none asks for a
 *   snapshot); Redis answers each of its 410s, after expiring the due
 *   holds. Its 403 answers stay (an ended hold reopens nothing), and so do
 *   its 409s for holders whose claims are all issued: the script says a
 *   holder is at the limit for good (atLimit) only then, since a live hold
 *   may still end and free the user's slot, and only issued claims leave
 *   the claims hash while their user holds them.
 * - **It never answers 410 or 403 to a holder.** A campaign-wide answer is
 *   only kept with every holder (a snapshot at the same token: while the
 *   campaign refuses everyone at one token, no claim is admitted, so the
 *   holders are final, at most `stock` many). An admitted claim at the same
 *   token (not_started turning open at startsAt) takes the answer away;
 *   near startsAt and endsAt (within the clock skew margin) Redis' clock
 *   decides. Campaigns with more than `maxHolders` holders get no
 *   campaign-wide answer.
 * - **A 409 names the right claim with the right status.** A holder at the
 *   limit stays one (issued claims are never taken back; erasure renames the user,
 *   bumps rev and publishes "forgot", dropping the entry). A holder is
 *   answered from memory only once its claim is known issued (a reply said
 *   so, or every claim of the campaign was issued when last read); before
 *   that Redis answers, since a cached "pending" could be stale.
 * - Requests with an Idempotency-Key always go to Redis, which remembers the
 *   first answer; replayed answers teach nothing (they are not about now).
 */
export class MemoryAnswers {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #scripts: Scripts;
  readonly #maxHolders: number;
  readonly #entries = new Map<string, Entry>();
  /** Snapshots being read, by campaign: keyless claims of it wait for one rather than ask Redis each. */
  readonly #loading = new Map<string, Promise<void>>();
  /** Campaigns with news that came while their snapshot was being read: read again. */
  readonly #again = new Set<string>();
  /** Campaigns whose last snapshot gave nothing to keep, until when (performance.now()) not to ask again. */
  readonly #declined = new Map<string, number>();
  readonly #refresher: PeriodicTask;

  constructor(options: MemoryAnswersOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#scripts = redisScripts(options.redis);
    this.#maxHolders = options.maxHolders;
    this.#refresher = new PeriodicTask({
      intervalMs: REFRESH_MS,
      run: () => this.#refresh(),
      logger: options.logger,
      failureMessage: "memory answers: refresh failed",
      unref: true,
    });
    if (this.enabled) this.#refresher.start();
  }

  get enabled(): boolean {
    return this.#maxHolders > 0;
  }

  /** What a keyless claim of this user is answered from memory, or undefined: ask Redis. `now`: epoch ms. */
  lookup(campaignId: string, userId: string, now: number): MemoryAnswer | undefined {
    const entry = this.#entries.get(campaignId);
    if (!entry || performance.now() >= entry.validUntil) return undefined;
    const holder = entry.holders.get(userId);
    if (holder !== undefined) {
      // A holder below the limit, or whose claim may still be pending: Redis answers.
      if (holder === null || !(entry.allIssued || entry.issued.has(userId))) return undefined;
      const [claimId, at, seq] = holder.split(":");
      return { kind: "holder", holder: { claimId: claimId!, admittedAt: Number(at), seq: Number(seq) } };
    }
    const answer = entry.answer && campaignAnswer(entry, now);
    if (answer === undefined) return undefined;
    return answer === "sold_out" ? SOLD_OUT : { kind: "not_active", reason: answer };
  }

  /**
   * An admission reply (not a replayed one) for this user: `lease` is its
   * token ("" while a change is on hold), `sentAt` the performance.now() at
   * which the request was sent.
   */
  learn(campaignId: string, userId: string, lease: string, sentAt: number, lesson: Lesson): void {
    if (!this.enabled) return;
    let entry = this.#entries.get(campaignId);
    if (lease === "") {
      this.#entries.delete(campaignId);
      return;
    }
    if (entry && entry.lease !== lease) {
      this.#entries.delete(campaignId);
      entry = undefined;
    }
    if (entry) entry.validUntil = Math.max(entry.validUntil, sentAt + CACHE_LEASE_MS);
    switch (lesson.kind) {
      case "refused":
        if (!entry?.answer) this.want(campaignId);
        return;
      case "admitted":
        // Admitted after the snapshot was read (on this connection, in order): it no longer refuses everyone.
        if (entry && sentAt > entry.readAt) entry.answer = undefined;
        return;
      case "holder":
        if (entry && lesson.admitted && sentAt > entry.readAt) entry.answer = undefined;
        entry ??= this.#open(campaignId, lease, sentAt);
        if (!entry || (entry.holders.size >= this.#maxHolders && !entry.holders.has(userId))) return;
        entry.holders.set(userId, lesson.ref);
        entry.issued.add(userId);
        return;
      case "none":
        return;
    }
  }

  /**
   * Load a snapshot of this campaign (once at a time): it may be answered
   * from memory from then on. A snapshot that gave nothing is not asked for
   * again for a lease's time, unless `news` (an event said what changed).
   */
  want(campaignId: string, news = false): void {
    if (!this.enabled) return;
    if (this.#loading.has(campaignId)) {
      // The snapshot in flight may have been read before the news: read again after it.
      if (news) this.#again.add(campaignId);
      return;
    }
    const declined = this.#declined.get(campaignId);
    if (!news && declined !== undefined && performance.now() < declined) return;
    this.#loading.set(
      campaignId,
      this.#load(campaignId).finally(() => {
        this.#loading.delete(campaignId);
        if (this.#again.delete(campaignId)) this.want(campaignId, true);
      }),
    );
  }

  /**
   * The snapshot of this campaign being read, if one is: a reply just said
   * the campaign refuses everyone, so the claims that come meanwhile (as many
   * as are in flight) wait for it and are answered from memory, instead of
   * each asking Redis what the snapshot is about to say.
   */
  loading(campaignId: string): Promise<void> | undefined {
    return this.#loading.get(campaignId);
  }

  /** Forget a campaign at once (its state changed under this process), and each of its shards. */
  drop(campaignId: string): void {
    this.#entries.delete(campaignId);
    this.#declined.delete(campaignId);
    const shards = `${campaignId}:s`;
    for (const map of [this.#entries, this.#declined])
      for (const id of map.keys()) if (id.startsWith(shards)) map.delete(id);
  }

  /** Forget everything (the events channel may have missed messages). */
  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  async close(): Promise<void> {
    await this.#refresher.stop();
    this.#entries.clear();
  }

  /** A new entry without a campaign-wide answer (holders learned from replies), if there is room. */
  #open(campaignId: string, lease: string, sentAt: number): Entry | undefined {
    if (this.#entries.size >= MAX_ENTRIES) return undefined;
    const entry: Entry = {
      lease,
      validUntil: sentAt + CACHE_LEASE_MS,
      readAt: 0,
      answer: undefined,
      startsAt: null,
      endsAt: null,
      allIssued: false,
      holders: new Map(),
      issued: new Set(),
    };
    this.#entries.set(campaignId, entry);
    return entry;
  }

  async #load(campaignId: string): Promise<void> {
    if (!(await this.#loadOnce(campaignId))) {
      if (this.#declined.size >= MAX_ENTRIES) this.#declined.clear();
      this.#declined.set(campaignId, performance.now() + CACHE_LEASE_MS);
    } else this.#declined.delete(campaignId);
  }

  /** Whether the snapshot gave an entry. */
  async #loadOnce(campaignId: string): Promise<boolean> {
    const k = this.#keys.campaign(campaignId);
    const sentAt = performance.now();
    let snap: (string | number)[];
    try {
      // A shard's ref (keys.ts shardRef) may read a shard's state; a plain id never does.
      const shard = parseRef(campaignId).campaignId !== campaignId ? "shard" : "";
      snap = (await this.#scripts.answerSnapshot([k.state, k.holders], [this.#maxHolders, shard])) as (
        | string
        | number
      )[];
    } catch {
      return false;
    }
    if (snap[0] !== 1 || snap[8] !== 1) return false;
    const [, lease, answer, , startsAt, endsAt, perUser, allIssued] = snap;
    const limit = Number(perUser);
    const holders = new Map<string, string | null>();
    for (let i = 9; i + 1 < snap.length; i += 2) {
      const value = String(snap[i + 1]);
      let count = 1;
      for (let at = value.indexOf(","); at !== -1; at = value.indexOf(",", at + 1)) count++;
      // A user holding fewer than perUser claims is no 409 (the contract's order goes on to 410);
      // null sends such a (rare) user to Redis.
      holders.set(String(snap[i]), count >= limit ? value.slice(value.lastIndexOf(",") + 1) : null);
    }
    if (!this.#entries.has(campaignId) && this.#entries.size >= MAX_ENTRIES) {
      // Room for a campaign-wide answer first: drop an entry that has none.
      for (const [id, e] of this.#entries)
        if (!e.answer) {
          this.#entries.delete(id);
          break;
        }
      if (this.#entries.size >= MAX_ENTRIES) return false;
    }
    this.#entries.set(campaignId, {
      lease: String(lease),
      validUntil: sentAt + CACHE_LEASE_MS,
      readAt: sentAt,
      answer: answer as CampaignAnswer,
      startsAt: startsAt === "" ? null : Number(startsAt),
      endsAt: endsAt === "" ? null : Number(endsAt),
      allIssued: allIssued === 1,
      holders,
      issued: new Set(),
    });
    return true;
  }

  async #refresh(): Promise<void> {
    if (this.#entries.size === 0) return;
    const sentAt = performance.now();
    const now = Date.now();
    const ids: string[] = [];
    for (const [id, entry] of this.#entries) {
      if (entry.answer === undefined) {
        // Holders learned from replies: renewed by replies only; forgotten once quiet.
        if (sentAt > entry.validUntil + FORGET_AFTER_MS) this.#entries.delete(id);
      } else if (entry.answer === "not_started" && now >= entry.startsAt! - CLOCK_SKEW_MS) {
        this.#entries.delete(id);
      } else ids.push(id);
    }
    if (ids.length === 0) return;
    const states = await Promise.all(
      ids.map((id) =>
        this.#redis
          .hmget(
            this.#keys.campaign(id).state,
            "status",
            "hold",
            "epoch",
            "rev",
            "admitted",
            "stock",
            "issued",
          )
          .catch(() => undefined),
      ),
    );
    ids.forEach((id, i) => {
      const entry = this.#entries.get(id);
      const s = states[i];
      if (!entry || !s) return; // unanswered: the lease runs out on its own
      const [status, hold, epoch, rev, admitted, stock, issued] = s;
      const same = `${epoch ?? "0"}:${rev ?? "0"}` === entry.lease;
      if (status === null || status === "rebuilding" || hold !== null || !same) {
        this.#entries.delete(id);
        return;
      }
      if (entry.answer === "sold_out" && Number(admitted) < Number(stock)) {
        this.#entries.delete(id);
        return;
      }
      entry.validUntil = Math.max(entry.validUntil, sentAt + CACHE_LEASE_MS);
      entry.allIssued = Number(issued) >= Number(admitted);
    });
  }
}

const SOLD_OUT: MemoryAnswer = Object.freeze({ kind: "sold_out" });

/** The campaign-wide answer at `now` (epoch ms, this host's clock), or undefined: Redis' clock decides. */
function campaignAnswer(entry: Entry, now: number): CampaignAnswer | undefined {
  const { answer, startsAt, endsAt } = entry;
  if (answer === "closed") return answer;
  if (answer === "not_started")
    return startsAt !== null && now < startsAt - CLOCK_SKEW_MS ? answer : undefined;
  // Ended, paused or sold out: nothing was admitted since the snapshot, and endsAt, if any, decides first.
  if (endsAt !== null) {
    if (now >= endsAt + CLOCK_SKEW_MS) return "ended";
    if (now >= endsAt - CLOCK_SKEW_MS) return undefined;
  }
  return answer === "ended" ? undefined : answer;
}
