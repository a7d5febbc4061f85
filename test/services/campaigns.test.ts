import assert from "node:assert/strict";
import { test } from "node:test";
import { embeddedPorts, rejectsWith } from "../helpers/embedded-ports.ts";
import { eventually } from "../helpers/wait.ts";

test("create: the ledger decides first, then admission learns; a taken id is campaign_exists", async (t) => {
  const { services, ledger, admission } = await embeddedPorts(t, { now: () => 1_000 });
  const created = await services.campaigns.create({ id: "c1", name: "One", stock: 5 });
  assert.deepEqual(created.counts, { issued: 0, pending: 0, held: 0, remaining: 5 });
  assert.equal(created.campaign.perUserLimit, 1, "perUserLimit defaults to 1");
  assert.equal(created.campaign.createdAt, 1_000);
  assert.equal(created.at, 1_000, "the counters' time is the service's clock");
  assert.ok(await ledger.getCampaign("c1"));
  assert.ok(await admission.getCampaign("c1"));

  // An id the ledger holds is refused before admission hears of it.
  await ledger.createCampaign({ ...created.campaign, id: "ledger-only" });
  await rejectsWith(
    services.campaigns.create({ id: "ledger-only", name: "Two", stock: 1 }),
    "campaign_exists",
  );
  assert.equal(await admission.getCampaign("ledger-only"), undefined);
});

test("create: a window that ends before it starts is invalid_request; an id is generated when absent", async (t) => {
  const { services } = await embeddedPorts(t);
  await rejectsWith(
    services.campaigns.create({ name: "W", stock: 1, startsAt: 2_000, endsAt: 2_000 }),
    "invalid_request",
  );
  const { campaign } = await services.campaigns.create({
    name: "W",
    stock: 1,
    startsAt: 1_000,
    endsAt: 2_000,
  });
  assert.match(campaign.id, /^[A-Za-z0-9_-]{1,64}$/);
});

test("get: issued, pending and remaining as the contract defines them; unknown is campaign_not_found", async (t) => {
  const { services, worker } = await embeddedPorts(t);
  await services.campaigns.create({ id: "c", name: "C", stock: 10 });
  for (const userId of ["a", "b", "c"])
    await services.claims.claim({ campaignId: "c", userId, clientIp: "127.0.0.1" });
  assert.deepEqual((await services.campaigns.get("c")).counts, {
    issued: 0,
    pending: 3,
    held: 0,
    remaining: 7,
  });
  worker.start();
  await eventually(async () => (await services.campaigns.get("c")).counts.issued === 3);
  assert.deepEqual((await services.campaigns.get("c")).counts, {
    issued: 3,
    pending: 0,
    held: 0,
    remaining: 7,
  });
  await rejectsWith(services.campaigns.get("nope"), "campaign_not_found");
});

test("list and newest: newest first, at most `limit`, with the total", async (t) => {
  let clock = 0;
  const { services } = await embeddedPorts(t, { now: () => ++clock });
  for (const id of ["old", "mid", "new"]) await services.campaigns.create({ id, name: id, stock: 1 });
  assert.equal((await services.campaigns.list()).length, 3);
  const { campaigns, total } = await services.campaigns.newest(2);
  assert.deepEqual(
    campaigns.map((v) => v.campaign.id),
    ["new", "mid"],
  );
  assert.equal(total, 3);
});

test("create: shards are kept by the ledger, change nothing embedded, and are refused with holds or a room", {
  timeout: 30_000,
}, async (t) => {
  const { services, ledger, worker } = await embeddedPorts(t);
  const { campaign } = await services.campaigns.create({ id: "hot", name: "Hot", stock: 3, shards: 8 });
  assert.equal(campaign.shards, 8);
  assert.equal((await ledger.getCampaign("hot"))?.shards, 8, "stored with the campaign");
  // Embedded: one process, no slots: the stock is one stock, exactly as without shards.
  for (const userId of ["a", "b", "c"])
    assert.equal(
      (await services.claims.claim({ campaignId: "hot", userId, clientIp: "127.0.0.1" })).status,
      "pending",
    );
  await rejectsWith(
    services.claims.claim({ campaignId: "hot", userId: "d", clientIp: "127.0.0.1" }),
    "sold_out",
  );
  worker.start();
  await eventually(async () => (await services.campaigns.get("hot")).counts.issued === 3);

  const one = await services.campaigns.create({ id: "one", name: "One", stock: 1, shards: 1 });
  assert.equal(one.campaign.shards, undefined, "one shard reads as before shards");
  await rejectsWith(
    services.campaigns.create({ name: "H", stock: 5, shards: 2, holdSeconds: 60 }),
    "invalid_request",
  ).then((e) => assert.match(e.message, /holdSeconds/));
  await rejectsWith(
    services.campaigns.create({
      name: "R",
      stock: 5,
      shards: 2,
      startsAt: Date.now() + 60_000,
      waitingRoom: { prequeueSeconds: 60 },
    }),
    "invalid_request",
  ).then((e) => assert.match(e.message, /waitingRoom/));
  await rejectsWith(services.campaigns.create({ name: "X", stock: 5, shards: 17 }), "invalid_request").then(
    (e) => assert.match(e.message, /shards/),
  );
});
