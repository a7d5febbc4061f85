/**
 * What the embedded admission (./memory-admission.ts) decides, as it decides
 * it, and the answer a claim request gets from it.
 */
import type { Claim } from "../../domain/types.ts";
import type { AdmitOutcome, NotActiveReason } from "../../ports/admission.ts";
import type { CampaignState } from "./campaign-state.ts";

/**
 * A decision as it is made (synchronously); an admitted claim's `durable`
 * resolves once the journal holds it, an already-held claim's when it does
 * (undefined: it does already).
 */
export type Verdict =
  | { kind: "admitted"; claim: Claim; durable: Promise<void> }
  | { kind: "already_claimed"; claim: Claim; durable: Promise<void> | undefined }
  | { kind: "not_active"; reason: NotActiveReason }
  | { kind: "sold_out" };

/** What a waiting room's releaser may do now (MemoryAdmission.lineCapacity). */
export interface LineCapacity {
  /** Units no active claim holds. */
  free: number;
  window: "open" | NotActiveReason;
  /** No unit can become free any more: every waiting ticket is sold out. */
  hopeless: boolean;
}

const SOLD_OUT: AdmitOutcome = Object.freeze({ kind: "sold_out", replayed: false });

/** The answer to a claim request, once what it names may be shown. */
export async function answerOf(verdict: Verdict, state: CampaignState): Promise<AdmitOutcome> {
  switch (verdict.kind) {
    case "already_claimed":
      // The claim may still be on its way to disk: never name a claim that a
      // crash could still undo.
      await verdict.durable;
      return { kind: "already_claimed", claim: verdict.claim, replayed: false };
    case "not_active":
      return { kind: "not_active", reason: verdict.reason, replayed: false };
    case "sold_out":
      // Units reserved by admissions still being fsync'ed are not held yet;
      // a 410 must wait until they are (invariant 4, docs/api.md).
      await state.lastInFlight;
      return SOLD_OUT;
    case "admitted":
      // A failed publish throws: the API answers 503 and the reservation stays
      // (the bytes may have reached the disk; the journal now refuses appends).
      await verdict.durable;
      return { kind: "admitted", claim: verdict.claim, replayed: false };
  }
}
