import assert from "node:assert/strict";
import { test } from "node:test";
import { httpOptions } from "../../src/cli/http-options.ts";
import { loadConfig } from "../../src/config/config.ts";
import type { Claim } from "../../src/domain/types.ts";
import {
  CSV_COLUMNS,
  csvField,
  csvLine,
  exportChunks,
  ndjsonLine,
} from "../../src/services/export-format.ts";
import { admin, createCampaign, embeddedApp } from "../helpers/embedded-app.ts";
import { eventually } from "../helpers/wait.ts";

const claim = (userId: string, unit = 1): Claim => ({
  claimId: `claim-${unit}-0123456789abcdef`,
  campaignId: "c",
  userId,
  seq: 1,
  unit,
  couponCode: "ABCD-EFGH-JKMN-PQRS",
  admittedAt: Date.UTC(2030, 0, 1),
  issuedAt: Date.UTC(2030, 0, 1, 0, 0, 1),
  status: "issued",
});

/** A small RFC 4180 reader: the escaping must round-trip through it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  return rows;
}

test("CSV fields are quoted exactly when needed and round-trip", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField("line\nbreak"), '"line\nbreak"');
  assert.equal(csvField("=1+1", false), "=1+1", "exact when neutralisation is off");
  const nasty = ['"', ",", '",",', "a\r\nb", "  spaced  ", "ünïcödé ✓", "=cmd|' /C calc'!A0", ""];
  const text = `${CSV_COLUMNS.join(",")}\r\n${nasty.map((u, i) => csvLine(claim(u, i + 1), false)).join("")}`;
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], [...CSV_COLUMNS]);
  assert.deepEqual(
    rows.slice(1).map((r) => r[2]),
    nasty,
  );
  assert.ok(rows.slice(1).every((r) => r.length === CSV_COLUMNS.length));
  assert.equal(rows[1]![6], "2030-01-01T00:00:00.000Z");
});

test("CSV cells a spreadsheet would run as a formula get a leading ' by default", async () => {
  const cases: [string, string][] = [
    ["=1+1", "'=1+1"],
    ["+1", "'+1"],
    ["-2", "'-2"],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["\tx", "'\tx"],
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ["plain", "plain"],
    ["a=b", "a=b"],
  ];
  for (const [value, safe] of cases) assert.equal(csvField(value), safe, JSON.stringify(value));
  assert.equal(csvField('-2,"x"'), `"'-2,""x"""`, "neutralised, then quoted");
  assert.equal(csvField("\rx"), `"'\rx"`);
  let text = "";
  for await (const chunk of exportChunks(
    (async function* () {
      yield [claim("=HYPERLINK()", 1)];
    })(),
    { format: "csv" },
  ))
    text += chunk;
  assert.equal(parseCsv(text)[1]![2], "'=HYPERLINK()", "exportChunks neutralises unless told not to");
});

test("holds: the status of each final claim, with its expiry and end; the first releases' columns first", () => {
  assert.deepEqual(CSV_COLUMNS.slice(0, 8), [
    "claimId",
    "campaignId",
    "userId",
    "couponCode",
    "unit",
    "seq",
    "admittedAt",
    "issuedAt",
  ]);
  const { issuedAt: _, ...unissued } = claim("alice", 3);
  const expired: Claim = {
    ...unissued,
    status: "expired",
    expiresAt: Date.UTC(2030, 0, 1, 0, 1),
    endedAt: Date.UTC(2030, 0, 1, 0, 1),
  };
  const row = parseCsv(`${CSV_COLUMNS.join(",")}\r\n${csvLine(expired)}${csvLine(claim("bob", 4))}`);
  const record = (r: string[]) => Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r[i]]));
  assert.deepEqual(record(row[1]!), {
    ...record(row[1]!),
    issuedAt: "",
    status: "expired",
    expiresAt: "2030-01-01T00:01:00.000Z",
    endedAt: "2030-01-01T00:01:00.000Z",
  });
  assert.deepEqual([record(row[2]!).status, record(row[2]!).expiresAt], ["issued", ""]);
  const ndjson = JSON.parse(ndjsonLine(expired));
  assert.deepEqual(
    [ndjson.status, ndjson.issuedAt, ndjson.expiresAt, ndjson.endedAt],
    ["expired", "", "2030-01-01T00:01:00.000Z", "2030-01-01T00:01:00.000Z"],
  );
});

test("one chunk per page, every line in it", async () => {
  async function* many() {
    for (let p = 0; p < 50; p++)
      yield Array.from({ length: 100 }, (_, i) => claim(`user-${i}`, p * 100 + i + 1));
  }
  let lines = 0;
  let largest = 0;
  for await (const chunk of exportChunks(many(), { format: "ndjson" })) {
    largest = Math.max(largest, chunk.length);
    lines += chunk.split("\n").length - 1;
  }
  assert.equal(lines, 5000);
  assert.ok(largest < 30 * 1024, `largest chunk ${largest}`);
});

test("GET /v1/campaigns/:id/export as NDJSON and CSV, admin only", async (t) => {
  const { app, runtime } = await embeddedApp(t);
  await createCampaign(app, { id: "x", name: "X", stock: 10 });
  const users = ["plain", 'quo"te', "com,ma", "=HYPERLINK()"];
  for (const userId of users)
    await app.inject({
      method: "POST",
      url: "/v1/campaigns/x/claims",
      headers: { "content-type": "application/json" },
      payload: { userId },
    });
  await eventually(async () => (await runtime.ledger.issuedCount("x")) === 4);

  const nd = await app.inject({ method: "GET", url: "/v1/campaigns/x/export", headers: admin });
  assert.equal(nd.statusCode, 200);
  assert.match(String(nd.headers["content-type"]), /^application\/x-ndjson/);
  assert.match(String(nd.headers["content-disposition"]), /filename="x-claims\.ndjson"/);
  const records = nd.body
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    records.map((r) => [r.userId, r.unit]),
    users.map((u, i) => [u, i + 1]),
  );
  assert.deepEqual(
    Object.keys(records[0]),
    CSV_COLUMNS.filter((c) => c !== "expiresAt" && c !== "endedAt"),
    "a claim without holds has no hold times",
  );
  assert.ok(records.every((r) => r.status === "issued"));

  const csv = await app.inject({ method: "GET", url: "/v1/campaigns/x/export?format=csv", headers: admin });
  assert.match(String(csv.headers["content-type"]), /^text\/csv/);
  const rows = parseCsv(csv.body);
  assert.deepEqual(
    rows.slice(1).map((r) => r[2]),
    ["plain", 'quo"te', "com,ma", "'=HYPERLINK()"],
    "formulas defused by default",
  );
  const exact = await app.inject({
    method: "GET",
    url: "/v1/campaigns/x/export?format=csv&spreadsheetSafe=false",
    headers: admin,
  });
  assert.deepEqual(
    parseCsv(exact.body)
      .slice(1)
      .map((r) => r[2]),
    users,
  );

  assert.equal((await app.inject({ method: "GET", url: "/v1/campaigns/x/export" })).statusCode, 401);
  const bad = await app.inject({ method: "GET", url: "/v1/campaigns/x/export?format=xml", headers: admin });
  assert.equal(bad.json().error, "invalid_request");
  const none = await app.inject({ method: "GET", url: "/v1/campaigns/nope/export", headers: admin });
  assert.equal(none.json().error, "campaign_not_found");
});

test("EXPORT_CSV_NEUTRALISE=false: CSV values exact unless the request asks for spreadsheetSafe=true", {
  timeout: 30_000,
}, async (t) => {
  assert.equal(loadConfig({}).EXPORT_CSV_NEUTRALISE, true, "on by default");
  const config = loadConfig({ EXPORT_CSV_NEUTRALISE: "false" });
  const { app, runtime } = await embeddedApp(t, { app: httpOptions(config) });
  await createCampaign(app, { id: "x", name: "X", stock: 10 });
  await app.inject({ method: "POST", url: "/v1/campaigns/x/claims", payload: { userId: "=1+1" } });
  await eventually(async () => (await runtime.ledger.issuedCount("x")) === 1);
  const read = async (query: string) =>
    parseCsv(
      (await app.inject({ method: "GET", url: `/v1/campaigns/x/export?format=csv${query}`, headers: admin }))
        .body,
    )[1]![2];
  assert.equal(await read(""), "=1+1");
  assert.equal(await read("&spreadsheetSafe=true"), "'=1+1");
});
