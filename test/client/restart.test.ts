import assert from "node:assert/strict";
import { test } from "node:test";
import { type Claim, StampedeClient } from "../../src/client/index.ts";
import { ADMIN, createCampaign, startEmbedded } from "./helpers.ts";

/**
 * The reason the client sends one Idempotency-Key per claim: an answer lost
 * to a crash. The server admits the claim (the 202 is fsync'ed first), is
 * killed with SIGKILL before the client sees that 202, and comes back on the
 * same port and DATA_DIR; meanwhile the client retries into refused
 * connections. Twice over here: the restarted server answers the retry, and
 * is killed again before that answer arrives too. The claim call must end
 * with the claim made by the first attempt, and the user must hold one claim.
 */
test("a server killed (SIGKILL) and restarted mid-retry: claim() answers the first attempt's claim, never a second", async (t) => {
  const server = await startEmbedded(t);
  await createCampaign(server.url, { id: "crash", stock: 5 });

  const lostAnswers: Claim[] = [];
  const keys: string[] = [];
  const restarts: Promise<void>[] = [];
  let refused = 0;
  const client = new StampedeClient({
    baseUrl: server.url,
    fetch: async (input, init) => {
      keys.push(new Headers(init?.headers).get("idempotency-key") ?? "");
      let response: Response;
      try {
        response = await fetch(input, init);
      } catch (error) {
        refused++;
        throw error;
      }
      if (lostAnswers.length < 2) {
        // The server answered; kill it before the client reads the answer.
        lostAnswers.push((await response.json()) as Claim);
        await server.server.stop("SIGKILL");
        restarts.push(server.restart());
        throw new TypeError("fetch failed", { cause: new Error("socket hang up") });
      }
      return response;
    },
  });

  const result = await client.claim("crash", "alice", { deadlineMs: 60_000 });
  await Promise.all(restarts);

  assert.equal(lostAnswers.length, 2, "two answers were lost to a kill");
  assert.equal(lostAnswers[1]?.claimId, lostAnswers[0]?.claimId, "the restarted server replayed the key");
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.claimId, lostAnswers[0]?.claimId, "the claim made by the first attempt");
  assert.ok(refused >= 1, "retries met the dead server");
  assert.equal(new Set(keys).size, 1, `one Idempotency-Key on all ${keys.length} attempts`);

  const admin = new StampedeClient({ baseUrl: server.url, token: ADMIN });
  const held = await admin.userClaims("crash", "alice");
  assert.deepEqual(
    held.map((c) => c.claimId),
    [result.claimId],
    "the user holds exactly one claim",
  );
  const campaign = await admin.getCampaign("crash");
  assert.equal(campaign.issued + campaign.pending, 1, "one unit taken from the stock");
  assert.equal(campaign.remaining, 4);
});
