import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { createLogger } from "../../src/cli/logger.ts";
import { userHasher, userHashKey, userSerializers } from "../../src/domain/user-hash.ts";

const USER = "alice@example.com";

test("the hash is keyed, stable for one key, and does not reveal the userId", () => {
  const hash = userHasher(userHashKey("token-one-0123456789"));
  assert.match(hash(USER), /^u_[A-Za-z0-9_-]{16}$/);
  assert.equal(hash(USER), hash(USER));
  assert.notEqual(hash(USER), hash("bob@example.com"));
  assert.notEqual(hash(USER), userHasher(userHashKey("token-two-0123456789"))(USER));
  assert.equal(hash(USER).includes("alice"), false);
});

test("log lines carry userIds only hashed: userId, userIds, claim and claims fields", () => {
  const lines: string[] = [];
  const hash = userHasher("k");
  const logger = pino(
    { serializers: { err: pino.stdSerializers.err, ...userSerializers(hash) } },
    { write: (line: string) => lines.push(line) },
  );
  logger.info({ userId: USER }, "one");
  logger.info({ userIds: [USER, "bob"] }, "many");
  logger.warn({ claim: { claimId: "c1", userId: USER } }, "a claim");
  logger.error({ claims: [{ claimId: "c1", userId: USER }], err: new Error("boom") }, "claims");
  const text = lines.join("");
  assert.equal(text.includes(USER), false, text);
  assert.equal(lines.length, 4);
  assert.equal(JSON.parse(lines[0]!).userId, hash(USER));
  assert.deepEqual(JSON.parse(lines[1]!).userIds, [hash(USER), hash("bob")]);
  assert.equal(JSON.parse(lines[2]!).claim.claimId, "c1");
  assert.equal(JSON.parse(lines[3]!).err.message, "boom", "errors are still serialized");
});

test("the CLI logger applies them", () => {
  const logger = createLogger("info", "t", undefined, userHashKey("token-0123456789abcdef"));
  const serialize = (logger as unknown as Record<symbol, Record<string, (v: unknown) => unknown>>)[
    pino.symbols.serializersSym
  ]!;
  assert.equal(serialize.userId!(USER), userHasher(userHashKey("token-0123456789abcdef"))(USER));
  assert.equal(typeof serialize.err, "function");
});
