import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT, UnsecuredJWT } from "jose";
import { mintUserToken } from "../../../src/adapters/jwt/user-tokens.ts";
import { admin, assertError, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";
import { eventually } from "../../helpers/wait.ts";

const SECRET = "a-test-user-token-secret-of-32-chars-or-more";
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const key = (secret: string) => new TextEncoder().encode(secret);

test("with USER_TOKEN_SECRET a claim needs a token whose subject is the userId", async (t) => {
  const { app } = await embeddedApp(t, { userTokenSecret: SECRET });
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  const claim = (headers: Record<string, string>, userId = "alice") =>
    app.inject({ method: "POST", url: `/v1/campaigns/${id}/claims`, headers, payload: { userId } });
  const alice = await mintUserToken(SECRET, "alice");
  const now = Math.floor(Date.now() / 1000);

  assertError(await claim({}), 401, "unauthorized");
  assertError(await claim(bearer("not-a-jwt")), 401, "unauthorized");
  assertError(
    await claim(bearer(await mintUserToken("another-secret-that-is-32-chars-long!!", "alice"))),
    401,
    "unauthorized",
  );
  const expired = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setExpirationTime(now - 120)
    .sign(key(SECRET));
  assertError(await claim(bearer(expired)), 401, "unauthorized");
  const forever = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .sign(key(SECRET));
  assertError(await claim(bearer(forever)), 401, "unauthorized");
  const unsigned = new UnsecuredJWT({})
    .setSubject("alice")
    .setExpirationTime(now + 60)
    .encode();
  assertError(await claim(bearer(unsigned)), 401, "unauthorized");
  const hs512 = await new SignJWT({})
    .setProtectedHeader({ alg: "HS512" })
    .setSubject("alice")
    .setExpirationTime(now + 60)
    .sign(key(SECRET));
  assertError(await claim(bearer(hs512)), 401, "unauthorized");
  assertError(await claim(bearer(`${alice}x`)), 401, "unauthorized");
  assertError(await claim(bearer("a".repeat(5000))), 401, "unauthorized");
  assertError(await claim(bearer(admin.authorization.slice(7))), 401, "unauthorized");

  assertError(await claim(bearer(alice), "bob"), 403, "forbidden");
  // Authentication comes first, then the body: without a token even a malformed claim is 401.
  assertError(
    await app.inject({
      method: "POST",
      url: `/v1/campaigns/${id}/claims`,
      payload: "{",
      headers: { "content-type": "application/json" },
    }),
    401,
    "unauthorized",
  );
  assertError(await claim(bearer(alice), ""), 400, "invalid_request");
  assertError(
    await app.inject({
      method: "POST",
      url: "/v1/campaigns/nope/claims",
      headers: bearer(alice),
      payload: { userId: "alice" },
    }),
    404,
    "campaign_not_found",
  );

  const ok = await claim(bearer(alice));
  assert.equal(ok.statusCode, 202, ok.body);
  assert.equal(ok.json().userId, "alice");
  assertError(await claim(bearer(alice)), 409, "already_claimed");
  const campaign = (await app.inject({ method: "GET", url: `/v1/campaigns/${id}` })).json();
  assert.equal(campaign.issued + campaign.pending, 1, "nothing but alice's own claim was admitted");
});

test("reads of a claim need its user's token (or the admin's); SSE also takes it as a cookie", async (t) => {
  const { app } = await embeddedApp(t, { userTokenSecret: SECRET });
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  const alice = await mintUserToken(SECRET, "alice");
  const bob = await mintUserToken(SECRET, "bob");
  const res = await app.inject({
    method: "POST",
    url: `/v1/campaigns/${id}/claims`,
    headers: bearer(alice),
    payload: { userId: "alice" },
  });
  const { claimId } = res.json() as { claimId: string };
  const read = (headers: Record<string, string>) =>
    app.inject({ method: "GET", url: `/v1/claims/${claimId}`, headers });

  assertError(await read({}), 401, "unauthorized");
  assertError(await read(bearer(bob)), 403, "forbidden");
  assertError(await read({ cookie: `stampede_token=${alice}` }), 401, "unauthorized"); // the cookie is for SSE only
  assert.equal((await read(bearer(alice))).statusCode, 200);
  assert.equal((await read(admin)).statusCode, 200);
  assertError(
    await app.inject({ method: "GET", url: "/v1/claims/AAAAAAAAAAAAAAAAAAAAAA", headers: bearer(alice) }),
    404,
    "claim_not_found",
  );

  await eventually(async () => (await read(admin)).json().status === "issued");
  const events = (headers: Record<string, string>) =>
    app.inject({ method: "GET", url: `/v1/claims/${claimId}/events`, headers });
  assertError(await events({}), 401, "unauthorized");
  assertError(await events({ cookie: `stampede_token=${bob}` }), 403, "forbidden");
  for (const headers of [{ cookie: `theme=dark; stampede_token=${alice}; x=1` }, bearer(alice)]) {
    const stream = await events(headers);
    assert.equal(stream.statusCode, 200);
    assert.match(stream.body, /event: status\ndata: .*"status":"issued"/);
  }
});

test("a user's claims in a campaign: the admin, or that user's token", async (t) => {
  const { app } = await embeddedApp(t, { userTokenSecret: SECRET });
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  const alice = await mintUserToken(SECRET, "alice");
  await app.inject({
    method: "POST",
    url: `/v1/campaigns/${id}/claims`,
    headers: bearer(alice),
    payload: { userId: "alice" },
  });
  const list = (userId: string, headers: Record<string, string>) =>
    app.inject({ method: "GET", url: `/v1/campaigns/${id}/users/${userId}/claims`, headers });
  assertError(await list("alice", {}), 401, "unauthorized");
  assertError(await list("bob", bearer(alice)), 403, "forbidden");
  assert.equal((await list("alice", bearer(alice))).json().claims.length, 1);
  assert.equal((await list("alice", admin)).json().claims.length, 1);
});

test("without USER_TOKEN_SECRET the userId is trusted and user listings stay admin-only", async (t) => {
  const { app } = await embeddedApp(t);
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  const res = await app.inject({
    method: "POST",
    url: `/v1/campaigns/${id}/claims`,
    payload: { userId: "alice" },
  });
  assert.equal(res.statusCode, 202);
  const alice = await mintUserToken(SECRET, "alice");
  assertError(
    await app.inject({
      method: "GET",
      url: `/v1/campaigns/${id}/users/alice/claims`,
      headers: bearer(alice),
    }),
    401,
    "unauthorized",
  );
  assert.equal(
    (await app.inject({ method: "GET", url: `/v1/claims/${res.json().claimId}` })).statusCode,
    200,
  );
});
