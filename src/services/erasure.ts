import { setTimeout as delay } from "node:timers/promises";
import { StampedeError } from "../domain/errors.ts";
import type { Claim } from "../domain/types.ts";
import type { UserHasher } from "../domain/user-hash.ts";
import type { AdmissionStore } from "../ports/admission.ts";
import type { Actor, LifecycleLedger } from "../ports/lifecycle-ledger.ts";
import type { Notifier } from "../ports/notifier.ts";

export interface ErasureServicePorts {
  admission: AdmissionStore;
  lifecycle: LifecycleLedger;
  notifier: Notifier;
  /** The userId as the audit trail shows it (never in clear). */
  hashUser: UserHasher;
  /** How long erase() may wait for claims still being issued (REQUEST_TIMEOUT_MS). */
  waitMs: number;
  now?: (() => number) | undefined;
}

/**
 * How long one wait lasts at most before admission is asked again, should
 * the notifier's event be lost (pub/sub delivers at most once): doubling from
 * the first to the last.
 */
const RECHECK_MS = { first: 20, max: 500 } as const;

/**
 * Erasure of a user from a campaign (docs/lifecycle.md). The user's claims
 * stay in the ledger, anonymised (their units stay consumed); admission then
 * forgets the user, who may claim again while the campaign takes claims.
 *
 * Ledger first, admission second: until admission forgets the user, their
 * claims keep new ones of theirs out, so no new claim can collide with a row
 * not yet anonymised. Admission refuses while a claim of theirs is pending (the
 * worker would write it to the ledger with the userId): erase() then waits for
 * those claims to be issued, woken by the notifier, and goes again. It gives up
 * with `unavailable` (the admin retries) once `waitMs` has passed.
 */
export class ErasureService {
  readonly #ports: ErasureServicePorts;
  readonly #now: () => number;

  constructor(ports: ErasureServicePorts) {
    this.#ports = ports;
    this.#now = ports.now ?? Date.now;
  }

  /** Throws campaign_not_found, or unavailable when a claim of the user is still pending after `waitMs`. */
  async erase(campaignId: string, userId: string, actor: Actor): Promise<{ erased: number }> {
    const { admission, lifecycle, hashUser, waitMs } = this.#ports;
    if (!(await admission.getCampaign(campaignId))) throw new StampedeError("campaign_not_found");
    const audit = {
      ...actor,
      campaignId,
      action: "erase_user" as const,
      details: { user: hashUser(userId) },
    };
    const deadline = performance.now() + waitMs;
    let erased = 0;
    for (let round = 0; ; round++) {
      erased += (await lifecycle.eraseUser(campaignId, userId, { ...audit, at: this.#now() })).length;
      const outcome = await admission.forgetUser(campaignId, userId);
      if (outcome.kind === "forgotten") return { erased };
      if (outcome.kind === "campaign_not_found") throw new StampedeError("campaign_not_found");
      const left = deadline - performance.now();
      if (left <= 0)
        throw new StampedeError("unavailable", "A claim of this user is still being issued; retry.", {
          retryAfter: 1,
        });
      await this.#untilIssued(
        campaignId,
        userId,
        Math.min(left, RECHECK_MS.first * 2 ** round, RECHECK_MS.max),
      );
    }
  }

  /**
   * Resolves once the user's pending claims are issued, or after `pauseMs`
   * (a lost event costs one pause, and nothing found pending is no reason
   * to ask admission again at once).
   */
  async #untilIssued(campaignId: string, userId: string, pauseMs: number): Promise<void> {
    const { admission, notifier } = this.#ports;
    const pendingIds = async () =>
      (await admission.userClaims(campaignId, userId)).filter(isPending).map((c) => c.claimId);
    const waiting = new Set(await pendingIds());
    const allIssued = Promise.withResolvers<void>();
    const onChange = (claim: Claim) => {
      if (claim.status === "issued" && waiting.delete(claim.claimId) && waiting.size === 0)
        allIssued.resolve();
    };
    const unsubscribes = await Promise.all([...waiting].map((id) => notifier.subscribe(id, onChange)));
    const pause = new AbortController();
    try {
      if (waiting.size > 0) {
        // Read again now that the subscriptions are live: a claim issued in
        // between has no event left to send.
        const still = new Set(await pendingIds());
        for (const id of waiting) if (!still.has(id)) waiting.delete(id);
        if (waiting.size === 0) return;
      }
      await Promise.race([allIssued.promise, delay(pauseMs, undefined, { signal: pause.signal })]);
    } finally {
      pause.abort();
      for (const unsubscribe of unsubscribes) unsubscribe();
    }
  }
}

const isPending = (claim: Claim) => claim.status === "pending";
