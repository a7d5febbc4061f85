import { drawCommitment, newDrawSeed } from "../domain/draw.ts";
import { StampedeError } from "../domain/errors.ts";
import { newCampaignId } from "../domain/ids.ts";
import { MAX_SHARDS } from "../domain/shards.ts";
import type { Campaign, CampaignCounters, WaitingRoom } from "../domain/types.ts";
import type { AdmissionStore } from "../ports/admission.ts";
import type { Ledger } from "../ports/ledger.ts";

/** What creating a campaign takes; times are epoch ms. */
export interface NewCampaign {
  /** Generated when absent. */
  id?: string | undefined;
  name: string;
  stock: number;
  perUserLimit?: number | undefined;
  startsAt?: number | null | undefined;
  endsAt?: number | null | undefined;
  /** Holds (docs/api.md "Holds"): HOLD_MIN_SECONDS..3600; absent or null: none. */
  holdSeconds?: number | null | undefined;
  /** Waiting room (docs/api.md "Waiting room"): needs startsAt; absent or null: none. */
  waitingRoom?: NewWaitingRoom | null | undefined;
  /** A hot campaign over shards (docs/scaling.md): 1..MAX_SHARDS, absent = 1; not with holds or a room. */
  shards?: number | undefined;
}

/** A waiting room's settings; the seed and its commitment are made at creation. */
export interface NewWaitingRoom {
  /** 1..86,400: joining opens this long before startsAt. */
  prequeueSeconds: number;
  /** 1..100,000; absent or null: as fast as admission allows. */
  releasePerSecond?: number | null | undefined;
}

export interface CampaignCounts {
  issued: number;
  pending: number;
  /** Holds in the ledger, not yet confirmed, expired or released (0 without holds). */
  held: number;
  remaining: number;
}

/** A campaign, its counters, and the server's time when they were read (the contract's `serverTime`). */
export interface CampaignView {
  campaign: Campaign;
  counts: CampaignCounts;
  at: number;
}

export interface CampaignServicePorts {
  admission: AdmissionStore;
  ledger: Ledger;
  now?: (() => number) | undefined;
  /** HOLD_MIN_SECONDS: the shortest holdSeconds a campaign may ask for (default 30). */
  holdMinSeconds?: number | undefined;
}

/** The longest hold (docs/api.md "Campaigns"). */
export const HOLD_MAX_SECONDS = 3600;
/** The longest pre-queue: a day. */
export const PREQUEUE_MAX_SECONDS = 86_400;
/** The fastest release a room may ask for. */
export const RELEASE_MAX_PER_SECOND = 100_000;

const NO_CLAIMS: CampaignCounters = { admitted: 0, issued: 0, held: 0 };

/**
 * Campaigns: creating one (the ledger decides, admission learns), and reading
 * them with their live counters as the contract defines them (docs/api.md
 * "Campaigns"): `issued` in the ledger, `pending` admitted but not yet there,
 * `held` holds in the ledger not yet confirmed or ended, `remaining = stock -
 * issued - pending - held`.
 */
export class CampaignService {
  readonly #admission: AdmissionStore;
  readonly #ledger: Ledger;
  readonly #now: () => number;
  readonly #holdMinSeconds: number;

  constructor(ports: CampaignServicePorts) {
    this.#admission = ports.admission;
    this.#ledger = ports.ledger;
    this.#now = ports.now ?? Date.now;
    this.#holdMinSeconds = ports.holdMinSeconds ?? 30;
  }

  /**
   * Throws invalid_request (a window that ends before it starts, holdSeconds
   * out of HOLD_MIN_SECONDS..3600) or campaign_exists.
   */
  async create(input: NewCampaign): Promise<CampaignView> {
    const startsAt = input.startsAt ?? null;
    const endsAt = input.endsAt ?? null;
    const holdSeconds = input.holdSeconds ?? null;
    if (startsAt !== null && endsAt !== null && endsAt <= startsAt)
      throw new StampedeError("invalid_request", "endsAt must be after startsAt.");
    if (
      holdSeconds !== null &&
      !(
        Number.isInteger(holdSeconds) &&
        holdSeconds >= this.#holdMinSeconds &&
        holdSeconds <= HOLD_MAX_SECONDS
      )
    )
      throw new StampedeError(
        "invalid_request",
        `holdSeconds must be an integer from ${this.#holdMinSeconds} to ${HOLD_MAX_SECONDS}.`,
      );
    const waitingRoom = waitingRoomOf(input.waitingRoom, startsAt);
    const shards = shardsOf(input.shards, holdSeconds, waitingRoom);
    const campaign: Campaign = {
      id: input.id ?? newCampaignId(),
      name: input.name,
      stock: input.stock,
      perUserLimit: input.perUserLimit ?? 1,
      startsAt,
      endsAt,
      createdAt: this.#now(),
    };
    if (holdSeconds !== null) campaign.holdSeconds = holdSeconds;
    if (waitingRoom) campaign.waitingRoom = waitingRoom;
    if (shards > 1) campaign.shards = shards;
    // The ledger is the truth and decides whether the id is taken; only
    // then does admission learn of the campaign. A room's seed goes into the
    // ledger in the campaign's own row, so it is durable before the 201
    // shows its commitment.
    if (!(await this.#ledger.createCampaign(campaign))) throw new StampedeError("campaign_exists");
    await this.#admission.putCampaign(campaign);
    return this.view(campaign);
  }

  /** Admission's view of the campaign; throws campaign_not_found. */
  async require(campaignId: string): Promise<Campaign> {
    const campaign = await this.#admission.getCampaign(campaignId);
    if (!campaign) throw new StampedeError("campaign_not_found");
    return campaign;
  }

  /** The ledger's record of the campaign (the truth, which keeps every campaign); throws campaign_not_found. */
  async requireInLedger(campaignId: string): Promise<Campaign> {
    const campaign = await this.#ledger.getCampaign(campaignId);
    if (!campaign) throw new StampedeError("campaign_not_found");
    return campaign;
  }

  /** The campaign with its counters; throws campaign_not_found. */
  async get(campaignId: string): Promise<CampaignView> {
    return this.view(await this.require(campaignId));
  }

  async list(): Promise<CampaignView[]> {
    return Promise.all((await this.#admission.listCampaigns()).map((c) => this.view(c)));
  }

  /** The newest `limit` campaigns with their counters (only theirs are read), and how many there are. */
  async newest(limit = Infinity): Promise<{ campaigns: CampaignView[]; total: number }> {
    const all = (await this.#admission.listCampaigns()).sort((a, b) => b.createdAt - a.createdAt);
    const campaigns = await Promise.all(all.slice(0, limit).map((c) => this.view(c)));
    return { campaigns, total: all.length };
  }

  /** Reads the campaign's live counters. */
  async view(campaign: Campaign): Promise<CampaignView> {
    const counters = (await this.#admission.counters(campaign.id)) ?? NO_CLAIMS;
    return { campaign, counts: countsOf(campaign, counters), at: this.#now() };
  }
}

/**
 * A campaign's shard count, validated; throws invalid_request. Shards are not
 * combined with holds or a waiting room: a hold that ends gives its unit back
 * in its own shard, and the room's line and releases live in one slot, both
 * of which would need the transfers to run the other way too (docs/scaling.md).
 */
function shardsOf(shards: number | undefined, holdSeconds: number | null, room: WaitingRoom | null): number {
  if (shards === undefined || shards === 1) return 1;
  if (!(Number.isInteger(shards) && shards >= 1 && shards <= MAX_SHARDS))
    throw new StampedeError("invalid_request", `shards must be an integer from 1 to ${MAX_SHARDS}.`);
  if (holdSeconds !== null)
    throw new StampedeError("invalid_request", "shards above 1 cannot be combined with holdSeconds (holds).");
  if (room)
    throw new StampedeError("invalid_request", "shards above 1 cannot be combined with a waitingRoom.");
  return shards;
}

/** A new room's settings, validated, with a fresh seed and its commitment; throws invalid_request. */
function waitingRoomOf(room: NewWaitingRoom | null | undefined, startsAt: number | null): WaitingRoom | null {
  if (!room) return null;
  if (startsAt === null)
    throw new StampedeError("invalid_request", "A waiting room needs startsAt: the draw is made then.");
  const { prequeueSeconds } = room;
  const releasePerSecond = room.releasePerSecond ?? null;
  if (!(Number.isInteger(prequeueSeconds) && prequeueSeconds >= 1 && prequeueSeconds <= PREQUEUE_MAX_SECONDS))
    throw new StampedeError(
      "invalid_request",
      `waitingRoom.prequeueSeconds must be an integer from 1 to ${PREQUEUE_MAX_SECONDS}.`,
    );
  if (
    releasePerSecond !== null &&
    !(
      Number.isInteger(releasePerSecond) &&
      releasePerSecond >= 1 &&
      releasePerSecond <= RELEASE_MAX_PER_SECOND
    )
  )
    throw new StampedeError(
      "invalid_request",
      `waitingRoom.releasePerSecond must be an integer from 1 to ${RELEASE_MAX_PER_SECOND}.`,
    );
  const seed = newDrawSeed();
  return { prequeueSeconds, releasePerSecond, seed, commitment: drawCommitment(seed) };
}

/** admitted = issued + pending + held, so remaining = stock - issued - pending - held. */
export function countsOf(campaign: Campaign, counters: CampaignCounters): CampaignCounts {
  return {
    issued: counters.issued,
    pending: counters.admitted - counters.issued - counters.held,
    held: counters.held,
    remaining: campaign.stock - counters.admitted,
  };
}
