import { BoundedCache } from "../domain/bounded-cache.ts";
import { StampedeError } from "../domain/errors.ts";
import { type Campaign, type Claim, isActive, isFinal } from "../domain/types.ts";
import {
  type AdmissionStore,
  type AdmitOutcome,
  finishedHoldOutcome,
  type HoldAction,
  type HoldOutcome,
  type NotActiveReason,
} from "../ports/admission.ts";
import type { Ledger } from "../ports/ledger.ts";
import type { Notifier } from "../ports/notifier.ts";
import { subscribeThenRead, type Watched } from "./watch.ts";

/** One claim request, as the edge received it. */
export interface ClaimRequest {
  campaignId: string;
  userId: string;
  /** The client's address, for the per-address rate limit. */
  clientIp: string;
  idempotencyKey?: string | undefined;
}

export interface ClaimServicePorts {
  /** Decides claims, rate limits included (see AdmissionStore). */
  admission: AdmissionStore;
  ledger: Ledger;
  notifier: Notifier;
}

const NOT_ACTIVE_MESSAGES = {
  not_started: "The campaign has not started yet.",
  ended: "The campaign has ended.",
  paused: "The campaign is paused.",
  closed: "The campaign was closed.",
  queue: "The campaign has a waiting room: join its queue (POST /v1/campaigns/:id/queue).",
} as const;

/**
 * Built once: 410 is the answer to almost every request of a sold-out spike,
 * and it needs no fields of its own.
 */
const SOLD_OUT = new StampedeError("sold_out");

/** Holds: which change a request asks for. */

/** Sees the claim before anything is decided: throws (403) to refuse the caller. */
export type ClaimAuthorizer = (claim: Claim) => void;

/**
 * Claims (docs/api.md "Claims"): admitting one, in the contract's order of checks
 * (the campaign here, then admission: rate limit, already claimed, not
 * active, sold out, with the contract's two exceptions, see AdmissionStore),
 * and reading them back.
 */
export class ClaimService {
  readonly #ports: ClaimServicePorts;
  readonly #lookup: ClaimLookup;

  constructor(ports: ClaimServicePorts) {
    this.#ports = ports;
    this.#lookup = new ClaimLookup(ports);
  }

  /** The admitted claim (the 202), or the StampedeError that answers the request. */
  async claim(request: ClaimRequest): Promise<Claim> {
    const { admission } = this.#ports;
    const { campaignId, userId, clientIp, idempotencyKey } = request;
    // A definition cache hit in every mode; a made-up campaign id never reaches the limiter.
    const campaign = await admission.getCampaign(campaignId);
    if (!campaign) throw new StampedeError("campaign_not_found");
    if (campaign.waitingRoom) return this.#queueOnly(campaign, userId);
    return admitted(await admission.admit({ campaignId, userId, idempotencyKey, clientIp }));
  }

  /**
   * A direct claim on a waiting room's campaign, in every mode, answered
   * from what admission knows without deciding anything (the contract's
   * "known answers", before the limiter): a user who holds their claims
   * (through the queue) is told which, 409, as the order of checks wants;
   * anyone else 403, reason queue.
   */
  async #queueOnly(campaign: Campaign, userId: string): Promise<never> {
    const held = (await this.#ports.admission.userClaims(campaign.id, userId)).filter((c) =>
      isActive(c.status),
    );
    const latest = held.at(-1);
    if (latest && held.length >= campaign.perUserLimit) throw alreadyClaimed(latest);
    throw notActive("queue");
  }

  /** Throws claim_not_found, or unavailable when the store that holds it does not answer. */
  async get(claimId: string): Promise<Claim> {
    const claim = await this.#lookup.find(claimId);
    if (!claim) throw new StampedeError("claim_not_found");
    return claim;
  }

  /** A user's claims in a campaign; throws campaign_not_found. */
  async userClaims(campaignId: string, userId: string): Promise<Claim[]> {
    const { admission, ledger } = this.#ports;
    if (!(await admission.getCampaign(campaignId))) throw new StampedeError("campaign_not_found");
    const claims = await admission.userClaims(campaignId, userId);
    if (claims.length > 0) return claims;
    return ledgerAnswer(() => ledger.userClaims(campaignId, userId));
  }

  /**
   * Holds (docs/api.md "Holds"): confirms a hold; resolves with the claim,
   * issued, once that is durable. `authorize` sees the claim first. Throws
   * claim_not_found, hold_expired, invalid_request (a claim without holds),
   * or unavailable.
   */
  confirm(claimId: string, authorize?: ClaimAuthorizer): Promise<Claim> {
    return this.#hold("confirm", claimId, authorize);
  }

  /** Holds: releases a hold, its unit back in the stock; throws as confirm() does, or already_confirmed. */
  release(claimId: string, authorize?: ClaimAuthorizer): Promise<Claim> {
    return this.#hold("release", claimId, authorize);
  }

  async #hold(action: HoldAction, claimId: string, authorize: ClaimAuthorizer | undefined): Promise<Claim> {
    const { admission, notifier } = this.#ports;
    // Who may decide is known from the claim; nothing is decided for someone else.
    const claim = await this.get(claimId);
    authorize?.(claim);
    let outcome = await (action === "confirm" ? admission.confirm(claimId) : admission.release(claimId));
    // Admission forgets what the ledger has finished (a restart, a retired campaign): the ledger answers.
    if (outcome.kind === "claim_not_found") outcome = finishedInLedger(action, claim);
    const decided = holdAnswer(outcome);
    // Streams learn of a change now, not when the worker has written it.
    if ((outcome.kind === "confirmed" || outcome.kind === "released") && !outcome.replayed)
      notifier.publish([decided]).catch(() => undefined);
    return decided;
  }

  /** Follows a claim: its status now, then each change (SSE). Throws as get() does. */
  watch(claimId: string): Promise<Watched<Claim>> {
    return subscribeThenRead(
      (listener) => this.#ports.notifier.subscribe(claimId, listener),
      () => this.get(claimId),
    );
  }
}

/** 409 already_claimed, naming the user's most recent claim. */
export const alreadyClaimed = (claim: Claim): StampedeError =>
  new StampedeError("already_claimed", "This user already holds a claim in this campaign.", {
    fields: { claimId: claim.claimId, status: claim.status },
  });

/** 403 campaign_not_active with its reason. */
export const notActive = (reason: NotActiveReason): StampedeError =>
  new StampedeError("campaign_not_active", NOT_ACTIVE_MESSAGES[reason], { fields: { reason } });

function admitted(outcome: AdmitOutcome): Claim {
  switch (outcome.kind) {
    case "admitted":
      return outcome.claim;
    case "already_claimed":
      throw alreadyClaimed(outcome.claim);
    case "not_active":
      throw notActive(outcome.reason);
    case "sold_out":
      throw SOLD_OUT;
    case "campaign_not_found":
      throw new StampedeError("campaign_not_found");
    case "rate_limited":
      throw new StampedeError("rate_limited", "Too many claims for this user; retry later.", {
        retryAfter: outcome.retryAfterSec,
      });
  }
}

/** How ClaimLookup remembers ids that name no claim (defaults: UNKNOWN_CLAIMS). */
export interface UnknownClaimsCache {
  /** Ids remembered at most (least recently asked leave first). */
  maxSize: number;
  /** How long "no such claim" is trusted before the stores are asked again. */
  ttlMs: number;
}

export const UNKNOWN_CLAIMS: UnknownClaimsCache = { maxSize: 10_000, ttlMs: 1000 };
/** What a confirm or release answers for a claim only the ledger still knows. */
function finishedInLedger(action: HoldAction, claim: Claim): HoldOutcome {
  const outcome = finishedHoldOutcome(action, claim);
  // An open hold admission does not know: its state is not readable now.
  if (!outcome)
    throw new StampedeError("unavailable", "The hold's state could not be read; retry.", { retryAfter: 1 });
  return outcome;
}

function holdAnswer(outcome: HoldOutcome): Claim {
  switch (outcome.kind) {
    case "confirmed":
    case "released":
      return outcome.claim;
    case "hold_expired":
      throw new StampedeError(
        "hold_expired",
        outcome.claim.status === "released"
          ? "The hold was released before it was confirmed."
          : "The hold expired before it was confirmed or released.",
      );
    case "already_confirmed":
      throw new StampedeError("already_confirmed");
    case "not_a_hold":
      throw new StampedeError(
        "invalid_request",
        "This claim's campaign has no holds: its claims are final once admitted.",
      );
    case "claim_not_found":
      throw new StampedeError("claim_not_found");
  }
}

/** Statuses in the order a claim goes through them: a stream never steps back. */
export const claimStage = (claim: Claim): number =>
  isFinal(claim.status) ? 2 : claim.status === "held" ? 1 : 0;

/**
 * Where a claim is found: admission state first (it holds every claim still
 * pending, and recent ones), else the ledger, the truth, which keeps every
 * issued claim. Only an answer "no such claim" from the ledger means the
 * claim does not exist; a ledger that fails means it cannot be read now
 * (unavailable, 503), never claim_not_found (docs/api.md "Claims").
 *
 * Claim ids come from requests, and anyone can make one up: each costs a
 * read of admission state and one of the ledger. So an id both answered "no
 * such claim" for is remembered (a bounded LRU, for `ttlMs`), and lookups of
 * one id that overlap share one read: a flood of made-up ids costs at most
 * one read of each store per id per `ttlMs`, and at most `maxSize` entries of
 * memory. Remembering "no" is safe because a claim id is made at admission
 * and handed to its client only after admission state holds it; what can
 * appear later is a claim lost with Redis and not yet rebuilt, found at most
 * `ttlMs` late.
 */
export class ClaimLookup {
  readonly #admission: AdmissionStore;
  readonly #ledger: Ledger;
  readonly #unknown: BoundedCache<string, true>;
  /** Lookups being answered, by id: at most one read per id at a time (bounded by the requests in flight). */
  readonly #reading = new Map<string, Promise<Claim | undefined>>();

  constructor(
    ports: { admission: AdmissionStore; ledger: Ledger },
    unknown: UnknownClaimsCache = UNKNOWN_CLAIMS,
  ) {
    this.#admission = ports.admission;
    this.#ledger = ports.ledger;
    this.#unknown = new BoundedCache({ maxSize: unknown.maxSize, ttlMs: unknown.ttlMs });
  }

  find(claimId: string): Promise<Claim | undefined> {
    if (this.#unknown.has(claimId)) return Promise.resolve(undefined);
    let reading = this.#reading.get(claimId);
    if (!reading) {
      reading = this.#read(claimId).finally(() => this.#reading.delete(claimId));
      this.#reading.set(claimId, reading);
    }
    return reading;
  }

  /** The claims among these ids that exist (a notifier re-reads what its listeners wait for). */
  async findMany(claimIds: readonly string[]): Promise<Claim[]> {
    const found = await Promise.all(claimIds.map((id) => this.find(id)));
    return found.filter((claim): claim is Claim => claim !== undefined);
  }

  async #read(claimId: string): Promise<Claim | undefined> {
    const claim =
      (await this.#admission.getClaim(claimId)) ??
      (await ledgerAnswer(() => this.#ledger.findClaim(claimId)));
    if (!claim) this.#unknown.set(claimId, true);
    return claim;
  }
}

async function ledgerAnswer<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof StampedeError) throw error;
    throw new StampedeError("unavailable", "The ledger did not answer; retry.", {
      retryAfter: 1,
      cause: error,
    });
  }
}
