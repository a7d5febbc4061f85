import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRate } from "../../src/domain/rate-policy.ts";
import { createCampaign, embeddedApp } from "../helpers/embedded-app.ts";

const rate = (text: string) => parseRate(text, "test");

test("a user hammering the button gets 429 with Retry-After; 400 and 404 come first", async (t) => {
  const { app } = await embeddedApp(t, { rateLimit: { user: rate("3/m") } });
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  const claim = (userId: string, campaignId = id) =>
    app.inject({ method: "POST", url: `/v1/campaigns/${campaignId}/claims`, payload: { userId } });

  for (let i = 0; i < 10; i++) assert.equal((await claim("alice", "no-such-campaign")).statusCode, 404);
  for (let i = 0; i < 10; i++) assert.equal((await claim("")).statusCode, 400);
  const codes = [];
  for (let i = 0; i < 6; i++) codes.push((await claim("alice")).statusCode);
  assert.deepEqual(
    codes,
    [202, 409, 409, 429, 429, 429],
    "the unknown campaign and bad bodies did not count",
  );
  const limited = await claim("alice");
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().error, "rate_limited");
  assert.equal(typeof limited.json().message, "string");
  assert.equal(limited.headers["retry-after"], "20");
  assert.equal((await claim("bob")).statusCode, 202, "another user is not held back");
  const campaign = (await app.inject({ method: "GET", url: `/v1/campaigns/${id}` })).json();
  assert.equal(campaign.pending + campaign.issued, 2, "429s admitted nothing");
});

test("the per-address limit uses X-Forwarded-For only from a trusted proxy", async (t) => {
  const spoofed = (i: number) => ({ "x-forwarded-for": `203.0.113.${i}` });
  let users = 0;
  const hammer = async (
    app: Awaited<ReturnType<typeof embeddedApp>>["app"],
    id: string,
    forwardedFor: (i: number) => Record<string, string>,
  ) => {
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.inject({
        method: "POST",
        url: `/v1/campaigns/${id}/claims`,
        headers: forwardedFor(i),
        payload: { userId: `user-${users++}` },
        remoteAddress: "127.0.0.1",
      });
      codes.push(res.statusCode);
    }
    return codes;
  };

  const untrusted = await embeddedApp(t, { rateLimit: { ip: rate("2/m") } });
  const c1 = await createCampaign(untrusted.app, { name: "c", stock: 10 });
  assert.deepEqual(
    await hammer(untrusted.app, c1.id, spoofed),
    [202, 202, 429, 429],
    "forged headers do not split the budget",
  );

  const trusted = await embeddedApp(t, { rateLimit: { ip: rate("2/m") }, app: { trustProxy: "127.0.0.1" } });
  const c2 = await createCampaign(trusted.app, { name: "c", stock: 10 });
  assert.deepEqual(
    await hammer(trusted.app, c2.id, spoofed),
    [202, 202, 202, 202],
    "one address per client behind the proxy",
  );
  assert.deepEqual(
    await hammer(trusted.app, c2.id, () => ({ "x-forwarded-for": "198.51.100.7" })),
    [202, 202, 429, 429],
  );

  const hops = await embeddedApp(t, { rateLimit: { ip: rate("2/m") }, app: { trustProxy: 1 } });
  const c3 = await createCampaign(hops.app, { name: "c", stock: 10 });
  // With one trusted hop, the address the proxy saw is the last one in the list, whatever the client prepended.
  const chain = (i: number) => ({ "x-forwarded-for": `10.9.9.${i}, 198.51.100.8` });
  assert.deepEqual(await hammer(hops.app, c3.id, chain), [202, 202, 429, 429]);
});

test("rate limiting is off when no policy is given", async (t) => {
  const { app } = await embeddedApp(t, { rateLimit: { user: undefined, ip: undefined } });
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({
      method: "POST",
      url: `/v1/campaigns/${id}/claims`,
      payload: { userId: "alice" },
    });
    assert.equal(res.statusCode, i === 0 ? 202 : 409);
  }
});
