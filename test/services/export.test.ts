import assert from "node:assert/strict";
import { test } from "node:test";
import { SqliteLedger } from "../../src/adapters/sqlite/sqlite-ledger.ts";
import type { Claim } from "../../src/domain/types.ts";
import { exportChunks } from "../../src/services/export-format.ts";
import { embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";
import { tempDir } from "../helpers/tmp.ts";
import { eventually } from "../helpers/wait.ts";

test("export: the campaign's issued claims from the ledger, as chunks of the asked format", async (t) => {
  const { services, worker, ledger } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 5 });
  for (const userId of ["a", "b", "c"])
    await services.claims.claim({ campaignId: "c", userId, clientIp: "::1" });
  worker.start();
  await eventually(async () => (await ledger.issuedCount("c")) === 3);

  const csv = await services.exports.issuedClaims("c", { format: "csv" });
  assert.equal(csv.fileName, "c-claims.csv");
  assert.match(csv.contentType, /^text\/csv/);
  let text = "";
  for await (const chunk of csv.chunks) text += chunk;
  const lines = text.trimEnd().split("\r\n");
  assert.equal(lines.length, 4, "a header and one line per issued claim");
  assert.deepEqual(
    lines.slice(1).map((line) => line.split(",")[2]),
    ["a", "b", "c"],
  );

  const ndjson = await services.exports.issuedClaims("c", { format: "ndjson" });
  assert.match(ndjson.contentType, /^application\/x-ndjson/);
  await rejectsWith(services.exports.issuedClaims("nope", { format: "ndjson" }), "campaign_not_found");
});

test("export of a campaign with holds: every claim that reached a final state, with its status; held ones wait", async (t) => {
  const ledger = new SqliteLedger(tempDir(t));
  await ledger.migrate();
  t.after(() => ledger.close());
  const T0 = Date.UTC(2030, 0, 1);
  await ledger.createCampaign({
    id: "h",
    name: "H",
    stock: 5,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: T0,
    holdSeconds: 60,
  });
  const hold = (userId: string, unit: number): Claim => ({
    claimId: `claim-${userId}`,
    campaignId: "h",
    userId,
    seq: 1,
    unit,
    couponCode: `CODE-${userId}`,
    admittedAt: T0,
    status: "pending",
    expiresAt: T0 + 60_000,
  });
  const [a, b, c, d] = [hold("a", 1), hold("b", 2), hold("c", 1), hold("d", 3)];
  await ledger.write([a!, b!, d!], T0);
  await ledger.write([{ ...a!, status: "released", endedAt: T0 + 1000 }], T0 + 1000);
  await ledger.write([c!, { ...b!, status: "issued", issuedAt: T0 + 2000 }], T0 + 2000);
  await ledger.write([{ ...c!, status: "expired", endedAt: T0 + 60_000 }], T0 + 60_000);

  let text = "";
  for await (const chunk of exportChunks(ledger.exportClaims("h"), { format: "ndjson" })) text += chunk;
  const records = text
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    records.map((r) => [r.userId, r.unit, r.status, r.issuedAt, r.endedAt]),
    [
      ["a", 1, "released", "", "2030-01-01T00:00:01.000Z"],
      ["c", 1, "expired", "", "2030-01-01T00:01:00.000Z"],
      ["b", 2, "issued", "2030-01-01T00:00:02.000Z", undefined],
    ],
  );
  assert.ok(records.every((r) => r.expiresAt === "2030-01-01T00:01:00.000Z"));
});
