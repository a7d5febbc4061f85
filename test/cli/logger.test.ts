import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { mintUserToken } from "../../src/adapters/jwt/user-tokens.ts";
import { createLogger } from "../../src/cli/logger.ts";
import { loadConfig } from "../../src/config/config.ts";
import { buildApp } from "../../src/http/app.ts";
import { openEmbedded } from "../../src/runtime/embedded.ts";
import { ADMIN_TOKEN, embeddedConfig } from "../helpers/embedded-app.ts";
import { tempDir } from "../helpers/tmp.ts";

const SECRET = "a-test-user-token-secret-of-32-chars-or-more";

test("neither the admin token nor a user's token nor a secret setting reaches the log", async (t) => {
  let output = "";
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  const logger = createLogger("trace", "test", sink);
  const runtime = await openEmbedded(
    embeddedConfig({ DATA_DIR: tempDir(t), BATCH_SIZE: 10, USER_TOKEN_SECRET: SECRET }),
    logger,
  );
  // A dependency that fails unexpectedly makes the API log the error with its request.
  runtime.admission.getCampaign = async () => Promise.reject(new Error("boom"));
  const app = await buildApp(runtime.api, { logger });
  t.after(async () => {
    await app.close();
    await runtime.close();
  });
  const userToken = await mintUserToken(SECRET, "alice");
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  await app.inject({ method: "GET", url: "/v1/campaigns", headers: admin });
  await app.inject({
    method: "GET",
    url: "/v1/campaigns",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
  });
  const failed = await app.inject({
    method: "POST",
    url: "/v1/campaigns/c1/claims",
    headers: { authorization: `Bearer ${userToken}`, cookie: `stampede_token=${userToken}` },
    payload: { userId: "alice" },
  });
  assert.equal(failed.statusCode, 503, "the unexpected error path ran (and logged)");
  // Things code might plausibly log.
  logger.info({ adminToken: ADMIN_TOKEN, token: userToken }, "tokens");
  logger.info({ config: loadConfig({ ADMIN_TOKEN, USER_TOKEN_SECRET: SECRET }) }, "settings");
  logger.info({ req: { headers: admin } }, "a request");
  logger.info({
    request: { headers: { authorization: `Bearer ${userToken}`, cookie: `stampede_token=${userToken}` } },
  });

  assert.match(output, /boom/, "the log did capture the failure");
  assert.match(output, /\[redacted\]/);
  for (const secret of [ADMIN_TOKEN, userToken, SECRET])
    assert.ok(!output.includes(secret), `${secret.slice(0, 8)}... leaked:\n${output}`);
});
