import assert from "node:assert/strict";
import { test } from "node:test";
import { mintUserToken, userTokenVerifier } from "../../../src/adapters/jwt/user-tokens.ts";
import { createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";

const SECRET = "a-test-user-token-secret-of-32-chars-or-more";

test("USER_TOKEN_AUDIENCE / USER_TOKEN_ISSUER: when set, a token must carry that aud and iss", {
  timeout: 10_000,
}, async () => {
  const strict = userTokenVerifier(SECRET, { audience: "stampede", issuer: "https://shop.example" });
  const right = await mintUserToken(SECRET, "alice", 600, {
    audience: "stampede",
    issuer: "https://shop.example",
  });
  assert.equal(await strict.subject(right), "alice");
  const refused: [string, string][] = [
    ["no aud, no iss", await mintUserToken(SECRET, "alice")],
    [
      "another audience",
      await mintUserToken(SECRET, "alice", 600, { audience: "billing", issuer: "https://shop.example" }),
    ],
    [
      "another issuer",
      await mintUserToken(SECRET, "alice", 600, { audience: "stampede", issuer: "https://evil.example" }),
    ],
    ["no iss", await mintUserToken(SECRET, "alice", 600, { audience: "stampede" })],
    ["no aud", await mintUserToken(SECRET, "alice", 600, { issuer: "https://shop.example" })],
  ];
  for (const [what, token] of refused)
    await assert.rejects(strict.subject(token), /Invalid user token: .*(aud|iss)/, what);

  // Unset, neither is looked at (tokens minted for stampede alone keep working).
  const lenient = userTokenVerifier(SECRET);
  for (const [, token] of refused) assert.equal(await lenient.subject(token), "alice");
});

test("a claim with a token for another audience is 401, with the right one 202", {
  timeout: 30_000,
}, async (t) => {
  const { app } = await embeddedApp(t, {
    userTokenSecret: SECRET,
    settings: { USER_TOKEN_AUDIENCE: "stampede", USER_TOKEN_ISSUER: "shop" },
  });
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  const claim = async (token: string) =>
    app.inject({
      method: "POST",
      url: `/v1/campaigns/${id}/claims`,
      headers: { authorization: `Bearer ${token}` },
      payload: { userId: "alice" },
    });
  const other = await claim(
    await mintUserToken(SECRET, "alice", 600, { audience: "billing", issuer: "shop" }),
  );
  assert.equal(other.statusCode, 401);
  assert.equal(other.json().error, "unauthorized");
  const right = await claim(
    await mintUserToken(SECRET, "alice", 600, { audience: "stampede", issuer: "shop" }),
  );
  assert.equal(right.statusCode, 202, right.body);
});
