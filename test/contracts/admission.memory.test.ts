import { EmbeddedQueue } from "../../src/adapters/journal/embedded-queue.ts";
import { MemoryAdmission } from "../../src/adapters/memory/memory-admission.ts";
import { MemoryRateLimiter } from "../../src/adapters/memory/memory-rate-limiter.ts";
import { claimMessageCodec } from "../../src/domain/claim-message.ts";
import type { Claim } from "../../src/domain/types.ts";
import { tempDir } from "../helpers/tmp.ts";
import { admissionContract } from "./admission.ts";

/**
 * The embedded mode's admission: in memory, each admission fsync'ed to a journal in a temporary folder.
 */
admissionContract(
  "memory",
  async (t, options = {}) => {
    const { queue } = await EmbeddedQueue.open<Claim>(
      tempDir(t, "stampede-admission-"),
      "claims",
      {},
      claimMessageCodec,
    );
    const limits = options.rateLimit;
    const rateLimiter = limits ? new MemoryRateLimiter(limits) : undefined;
    const store = new MemoryAdmission(queue, { rateLimiter });
    t.after(async () => {
      rateLimiter?.close();
      await store.close();
      await queue.close();
    });
    return {
      store,
      create: (campaign) => store.putCampaign(campaign),
      issue: (claims) =>
        store.markWritten(claims.map((claim) => ({ ...claim, status: "issued", issuedAt: Date.now() }))),
      // The ledger's rule (ports/ledger.ts), without one: a pending hold is held, a pending claim issued.
      write: (snapshots) =>
        store.markWritten(
          snapshots.map((s) =>
            s.status !== "pending"
              ? s
              : s.expiresAt !== undefined
                ? { ...s, status: "held" }
                : { ...s, status: "issued", issuedAt: Date.now() },
          ),
        ),
    };
  },
  false,
);
