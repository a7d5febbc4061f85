import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { drawValueOf, inDrawOrder, roomCampaign, shuffled, untilOpen } from "../contracts/waiting-room.ts";
import { pool } from "../helpers/load.ts";
import {
  checkReleasedInOrder,
  joinAll,
  ledgerInUnitOrder,
  startRoomCluster,
} from "../helpers/room-cluster.ts";
import { DATABASE_URL, REDIS_URL, skipWithoutServices } from "../helpers/services.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * The waiting room in distributed mode with real `stampede worker`
 * processes releasing (QUEUE=redis), the joins made by this process's
 * RedisWaitingRoom (or a joiner process of its own for kill -9) in the role
 * of the API processes; the same scenarios through the HTTP routes:
 * distributed-waiting-room-http.e2e.test.ts. Kafka mode:
 * kafka/kafka-waiting-room.e2e.test.ts.
 */
const skip = await skipWithoutServices();
const JOINER = fileURLToPath(new URL("../fixtures/waiting-room/joiner.ts", import.meta.url));

test("issue 17: 5,000 join the pre-queue in random order, 1,000 after opening, stock 3,000: the first 3,000 of the draw get claims, the rest sold out at once", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const rc = await startRoomCluster(t, { workers: 2 });
  const c = roomCampaign({ id: "drop", stock: 3000, startsAt: Date.now() + 12_000 });
  await rc.api.create(c);
  const early = Array.from({ length: 5000 }, (_, i) => `early-${i}`);
  // Random order and timing: shuffled, 50 at a time, each after a random pause.
  const tickets = new Map<string, string>();
  await pool(shuffled(early), 50, async (user) => {
    await sleep(Math.random() * 5);
    for (const [u, id] of await joinAll(rc.api.room, c.id, [user], 1)) tickets.set(u, id);
  });
  assert.ok(Date.now() < c.startsAt!, "the pre-queue was filled before startsAt");
  assert.equal((await rc.api.room.stats(c.id))?.prequeued, 5000);
  await untilOpen(c);
  const late = Array.from({ length: 1000 }, (_, i) => `late-${i}`);
  for (const [u, id] of await joinAll(rc.api.room, c.id, late, 1)) tickets.set(u, id);
  const soldOutAt = await eventually(
    async () => ((await rc.api.room.stats(c.id))?.soldOut ? Date.now() : 0),
    60_000,
    "sold out",
  );
  await eventually(
    async () => (await ledgerInUnitOrder(rc.cluster, c.id)).length === 3000,
    60_000,
    "3,000 claims in the ledger",
  );
  const order = [...inDrawOrder(c, early), ...late];
  await checkReleasedInOrder(rc, c, order, tickets);
  // The draw anyone can check: the commitment matches the seed, the order is the HMAC order.
  const room = c.waitingRoom!;
  assert.equal(createHash("sha256").update(Buffer.from(room.seed, "hex")).digest("hex"), room.commitment);
  const drawn: string[] = [];
  for await (const page of rc.api.room.drawOrder(c.id)) drawn.push(...page);
  assert.deepEqual(
    drawn,
    inDrawOrder(c, early).map((u) => drawValueOf(c, u)),
  );
  const first = Number((await ledgerInUnitOrder(rc.cluster, c.id))[0]!.admitted_at);
  t.diagnostic(
    `first release ${first - c.startsAt!} ms after startsAt; ` +
      `sold out seen ${soldOutAt - c.startsAt!} ms after it`,
  );
});

test("late joiners are released after the whole pre-queue, in arrival order, at releasePerSecond", {
  skip,
  timeout: 120_000,
}, async (t) => {
  const rc = await startRoomCluster(t, { workers: 2 });
  const c = roomCampaign({ id: "paced", stock: 280, startsAt: Date.now() + 4000 }, { releasePerSecond: 100 });
  await rc.api.create(c);
  const early = Array.from({ length: 200 }, (_, i) => `early-${i}`);
  const tickets = await joinAll(rc.api.room, c.id, shuffled(early), 20);
  await untilOpen(c);
  const late = Array.from({ length: 100 }, (_, i) => `late-${i}`);
  for (const [u, id] of await joinAll(rc.api.room, c.id, late, 1)) tickets.set(u, id);
  await eventually(async () => (await rc.api.room.stats(c.id))?.soldOut, 30_000, "sold out");
  const releasedIn = Date.now() - c.startsAt!;
  await eventually(
    async () => (await ledgerInUnitOrder(rc.cluster, c.id)).length === 280,
    30_000,
    "280 claims in the ledger",
  );
  await checkReleasedInOrder(rc, c, [...inDrawOrder(c, early), ...late], tickets);
  // 280 at 100/s with a 200 ms burst: about 2.6 s, never much faster.
  assert.ok(releasedIn >= 2400, `released in ${releasedIn} ms`);
  t.diagnostic(`280 released in ${releasedIn} ms at 100/s`);
});

/**
 * A joining "API process" (test/fixtures/waiting-room/joiner.ts) for users `user-<from..to>`, killed
 * -9 once it answered `killAfter` joins; the tickets it answered, by user.
 */
async function joinerKilled(
  rc: Awaited<ReturnType<typeof startRoomCluster>>,
  campaignId: string,
  from: number,
  to: number,
  killAfter: number,
): Promise<Map<string, string>> {
  const joiner = spawn(
    process.execPath,
    [
      JOINER,
      REDIS_URL,
      rc.cluster.prefix,
      DATABASE_URL,
      rc.cluster.schema,
      campaignId,
      String(from),
      String(to),
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, CONCURRENCY: "20" } },
  );
  const answered = new Map<string, string>();
  let buffer = "";
  joiner.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) {
      const [user, ticket] = line.split(" ");
      if (ticket && ticket.length > 20) answered.set(user!, ticket);
    }
    if (answered.size >= killAfter && joiner.exitCode === null) joiner.kill("SIGKILL");
  });
  await once(joiner, "exit");
  assert.ok(
    answered.size >= killAfter && answered.size < to - from,
    `answered before the kill: ${answered.size}`,
  );
  return answered;
}

test("kill -9 of an API and of a worker, in the pre-queue and during release: no ticket lost or doubled, release resumes in order", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const rc = await startRoomCluster(t, { workers: 2 });
  const c = roomCampaign(
    { id: "crash", stock: 2200, startsAt: Date.now() + 15_000 },
    { releasePerSecond: 500 },
  );
  await rc.api.create(c);
  const line = rc.api.keys.campaign(c.id).line;
  const early = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
  const late = Array.from({ length: 500 }, (_, i) => `user-${2000 + i}`);

  // The pre-queue: an API process killed after 500 answers, and a worker killed (and replaced).
  const answered = await joinerKilled(rc, c.id, 0, 2000, 500);
  await rc.cluster.workers[1]!.stop("SIGKILL");
  await rc.cluster.startWorker();
  // Its clients retry elsewhere (here): the answered ones find the same ticket.
  const tickets = await joinAll(rc.api.room, c.id, early, 50);
  for (const [user, ticket] of answered) assert.equal(tickets.get(user), ticket, user);
  assert.equal(new Set(tickets.values()).size, 2000, "one ticket per user");
  assert.equal(await rc.api.redis.zcard(line), 2000, "no ticket doubled");
  assert.ok(Date.now() < c.startsAt!, "all joined in the pre-queue");

  // Release (500/s: 4.4 s for the stock): later joiners come through another API process, killed -9
  // after 200 answers (its users retry); a worker is killed -9 a second in, and replaced.
  await untilOpen(c);
  const lateAnswered = await joinerKilled(rc, c.id, 2000, 2500, 200);
  for (const [u, id] of await joinAll(rc.api.room, c.id, late, 20)) tickets.set(u, id);
  for (const [user, ticket] of lateAnswered) assert.equal(tickets.get(user), ticket, user);
  assert.equal(await rc.api.redis.zcard(line), 2500, "no ticket doubled");
  await sleep(Math.max(0, c.startsAt! + 1000 - Date.now()));
  const releasedAtKill = (await rc.api.room.stats(c.id))!.admitted;
  await rc.cluster.workers[0]!.stop("SIGKILL");
  await rc.cluster.startWorker();
  await eventually(async () => (await rc.api.room.stats(c.id))?.soldOut, 60_000, "sold out");
  await eventually(
    async () => (await ledgerInUnitOrder(rc.cluster, c.id)).length === 2200,
    90_000,
    "2,200 claims in the ledger",
  );
  // The line: the pre-queue in draw order, then the later joiners in the order they arrived (their
  // arrival numbers: the line's own order behind the pre-queue).
  const userOf = new Map([...tickets].map(([user, ticket]) => [ticket.slice(-22), user]));
  const lateOrder = (await rc.api.redis.zrangeBuffer(line, "2000", "-1")).map(
    (member) => userOf.get(member.subarray(-22).toString())!,
  );
  assert.deepEqual([...lateOrder].sort(), [...late].sort());
  await checkReleasedInOrder(rc, c, [...inDrawOrder(c, early), ...lateOrder], tickets);
  t.diagnostic(
    `answered before the kills: ${answered.size} (pre-queue), ${lateAnswered.size} (later); ` +
      `released at the worker's kill: ${releasedAtKill}`,
  );
});
