import { StampedeError } from "../domain/errors.ts";
import type { Claim } from "../domain/types.ts";
import type { AdmissionStore, AdmitOutcome } from "../ports/admission.ts";
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
} as const;

/**
 * Built once: 410 is the answer to almost every request of a sold-out spike,
 * and it needs no fields of its own.
 */
const SOLD_OUT = new StampedeError("sold_out");

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
    if (!(await admission.getCampaign(campaignId))) throw new StampedeError("campaign_not_found");
    return admitted(await admission.admit({ campaignId, userId, idempotencyKey, clientIp }));
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

  /** Follows a claim: its status now, then each change (SSE). Throws as get() does. */
  watch(claimId: string): Promise<Watched<Claim>> {
    return subscribeThenRead(
      (listener) => this.#ports.notifier.subscribe(claimId, listener),
      () => this.get(claimId),
    );
  }
}

function admitted(outcome: AdmitOutcome): Claim {
  switch (outcome.kind) {
    case "admitted":
      return outcome.claim;
    case "already_claimed":
      throw new StampedeError("already_claimed", "This user already holds a claim in this campaign.", {
        fields: { claimId: outcome.claim.claimId, status: outcome.claim.status },
      });
    case "not_active":
      throw new StampedeError("campaign_not_active", NOT_ACTIVE_MESSAGES[outcome.reason], {
        fields: { reason: outcome.reason },
      });
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

/**
 * Where a claim is found: admission state first (it holds every claim still
 * pending, and recent ones), else the ledger, the truth, which keeps every
 * issued claim. Only an answer "no such claim" from the ledger means the
 * claim does not exist; a ledger that fails means it cannot be read now
 * (unavailable, 503), never claim_not_found (docs/api.md "Claims").
 */
export class ClaimLookup {
  readonly #admission: AdmissionStore;
  readonly #ledger: Ledger;

  constructor(ports: { admission: AdmissionStore; ledger: Ledger }) {
    this.#admission = ports.admission;
    this.#ledger = ports.ledger;
  }

  async find(claimId: string): Promise<Claim | undefined> {
    return (await this.#admission.getClaim(claimId)) ?? ledgerAnswer(() => this.#ledger.findClaim(claimId));
  }

  /** The claims among these ids that exist (a notifier re-reads what its listeners wait for). */
  async findMany(claimIds: readonly string[]): Promise<Claim[]> {
    const found = await Promise.all(claimIds.map((id) => this.find(id)));
    return found.filter((claim): claim is Claim => claim !== undefined);
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
