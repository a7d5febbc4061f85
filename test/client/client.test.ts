import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mintUserToken } from "../../src/adapters/jwt/user-tokens.ts";
import { type Claim, StampedeClient, StampedeClientError } from "../../src/client/index.ts";
import { ADMIN, createCampaign, startEmbedded } from "./helpers.ts";

/**
 * stampede/client against a real embedded server (`stampede start` as a child
 * process): what a shop's page or backend sees.
 */
describe("client against a real embedded server", { concurrency: false }, () => {
  test("claim: 202 with one Idempotency-Key, a repeat names the held claim, sold_out and 404 are typed", async (t) => {
    const server = await startEmbedded(t);
    await createCampaign(server.url, { id: "drop", stock: 2 });
    const keys: string[] = [];
    const client = new StampedeClient({
      baseUrl: server.url,
      fetch: (input, init) => {
        keys.push(new Headers(init?.headers).get("idempotency-key") ?? "");
        return fetch(input, init);
      },
    });

    const first = await client.claim("drop", "alice");
    assert.ok(first.ok && first.outcome === "admitted", JSON.stringify(first));
    assert.equal(first.claim.userId, "alice");
    assert.equal(first.claim.status, "pending");
    assert.match(keys[0]!, /^[0-9a-f-]{32,36}$/);

    const again = await client.claim("drop", "alice");
    assert.ok(again.ok && again.outcome === "already_claimed", JSON.stringify(again));
    assert.equal(again.claimId, first.claimId, "409 already_claimed names the claim the user holds");
    assert.match(again.status, /^(pending|issued)$/);
    assert.notEqual(keys[1], keys[0], "each claim() call has its own key");

    const replay = await client.claim("drop", "alice", { idempotencyKey: keys[0]! });
    assert.ok(replay.ok && replay.outcome === "admitted" && replay.claimId === first.claimId);

    assert.ok((await client.claim("drop", "bob")).ok);
    const late = await client.claim("drop", "carol");
    assert.ok(!late.ok);
    assert.ok(late.error instanceof StampedeClientError);
    assert.equal(late.error.code, "sold_out");
    assert.equal(late.error.status, 410);
    assert.equal(late.error.retryable, false);

    const unknown = await client.claim("no-such-campaign", "alice");
    assert.ok(!unknown.ok && unknown.error.code === "campaign_not_found");
    await assert.rejects(client.getClaim("A".repeat(22)), (error: StampedeClientError) => {
      assert.equal(error.code, "claim_not_found");
      assert.equal(error.status, 404);
      assert.ok(error.requestId);
      return true;
    });
  });

  test("getCampaign keeps the server's clock; watch yields pending then issued and ends", async (t) => {
    const server = await startEmbedded(t);
    const startsAt = new Date(Date.now() + 60_000).toISOString();
    await createCampaign(server.url, { id: "soon", stock: 5, startsAt });
    await createCampaign(server.url, { id: "now", stock: 5 });
    const client = new StampedeClient({ baseUrl: server.url });

    assert.equal(client.clock.synced, false);
    const campaign = await client.getCampaign("soon");
    assert.equal(campaign.remaining, 5);
    assert.equal(client.clock.synced, true);
    // Same machine: the offset is within the round trip and the ms rounding of serverTime.
    assert.ok(Math.abs(client.clock.offsetMs) < 1000, `offset ${client.clock.offsetMs}`);
    const untilStart = client.clock.msUntil(campaign.startsAt!);
    assert.ok(untilStart > 55_000 && untilStart <= 60_000, `countdown ${untilStart}`);

    const early = await client.claim("soon", "alice");
    assert.ok(!early.ok && early.error.code === "campaign_not_active");
    assert.equal(early.error.body.reason, "not_started");

    const claimed = await client.claim("now", "alice");
    assert.ok(claimed.ok);
    const seen: Claim[] = [];
    for await (const claim of client.watch(claimed.claimId)) seen.push(claim);
    assert.equal(seen.at(-1)?.status, "issued");
    assert.match(seen.at(-1)?.couponCode ?? "", /\S{8,}/);
    assert.ok(seen.length <= 2, "no state is yielded twice");
    const read = await client.getClaim(claimed.claimId);
    assert.equal(read.couponCode, seen.at(-1)?.couponCode);
    assert.deepEqual(
      (await new StampedeClient({ baseUrl: server.url, token: ADMIN }).userClaims("now", "alice")).map(
        (c) => c.claimId,
      ),
      [claimed.claimId],
    );
  });

  test("429: waits the server's Retry-After and retries with the same key; past the deadline answers rate_limited", async (t) => {
    const server = await startEmbedded(t, { RATE_LIMIT_IP: "1/s" });
    await createCampaign(server.url, { id: "limited", stock: 10 });
    const keys: string[] = [];
    const client = new StampedeClient({
      baseUrl: server.url,
      fetch: (input, init) => {
        keys.push(new Headers(init?.headers).get("idempotency-key") ?? "");
        return fetch(input, init);
      },
    });
    assert.ok((await client.claim("limited", "u1")).ok);
    const waits: number[] = [];
    const started = Date.now();
    const second = await client.claim("limited", "u2", { onRetry: (info) => waits.push(info.waitMs) });
    const took = Date.now() - started;
    assert.ok(second.ok && second.outcome === "admitted", JSON.stringify(second));
    assert.ok(waits.length >= 1 && waits[0]! >= 1000, `waited ${waits}`);
    assert.ok(took >= 1000, `answered after ${took} ms`);
    assert.equal(new Set(keys.slice(1)).size, 1, "every retry sent the first attempt's key");

    const hurried = Date.now();
    const refused = await client.claim("limited", "u3", { deadlineMs: 300 });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, "rate_limited");
    assert.equal(refused.error.retryable, true);
    assert.ok(refused.error.retryAfterMs !== undefined && refused.error.retryAfterMs >= 1000);
    assert.ok(Date.now() - hurried < 1000, "no wait that would end past the deadline");
  });

  test("user tokens (USER_TOKEN_SECRET): the bearer token is sent on claims, reads and the event stream", async (t) => {
    const secret = "client-test-user-token-secret-0123456789";
    const server = await startEmbedded(t, { USER_TOKEN_SECRET: secret });
    await createCampaign(server.url, { id: "signed", stock: 5 });

    const anonymous = await new StampedeClient({ baseUrl: server.url }).claim("signed", "alice");
    assert.ok(!anonymous.ok && anonymous.error.code === "unauthorized" && anonymous.error.status === 401);

    let asked = 0;
    const client = new StampedeClient({
      baseUrl: server.url,
      token: () => {
        asked++;
        return mintUserToken(secret, "alice");
      },
    });
    const claimed = await client.claim("signed", "alice");
    assert.ok(claimed.ok, JSON.stringify(claimed));
    const other = await client.claim("signed", "bob");
    assert.ok(!other.ok && other.error.code === "forbidden");
    const statuses: string[] = [];
    for await (const claim of client.watch(claimed.claimId)) statuses.push(claim.status);
    assert.equal(statuses.at(-1), "issued");
    assert.equal((await client.getClaim(claimed.claimId)).status, "issued");
    assert.ok(asked >= 4, "the token function is asked per request");

    const bobToken = await mintUserToken(secret, "bob");
    await assert.rejects(
      client.getClaim(claimed.claimId, { token: bobToken }),
      (error: StampedeClientError) => error.code === "forbidden",
    );
    const watchAsBob = client.watch(claimed.claimId, { token: bobToken });
    await assert.rejects(watchAsBob.next(), (error: StampedeClientError) => error.code === "forbidden");
  });
});
