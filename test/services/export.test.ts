import assert from "node:assert/strict";
import { test } from "node:test";
import { embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";
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
