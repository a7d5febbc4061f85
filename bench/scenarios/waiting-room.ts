// waiting-room: 1,000,000 users join one campaign's waiting room in the pre-queue (distributed mode,
// `stampede api` + `stampede worker`), then the line opens. Reports join throughput and latency,
// the cost of a position read (its latency, and Redis's own time per read script), Redis memory per
// waiting ticket, the peak RSS of every process, and the time from startsAt to the first release: the
// draw is implicit (each pre-queued ticket is placed by its drawValue as it joins), so nothing runs at
// opening; also how long reading the whole draw (every drawValue, in order) takes.
// --via http drives the routes of docs/api.md ("Waiting room"); --via store drives RedisWaitingRoom
// from this process, standing in for the API, for a build without those routes (auto: http when
// the API serves them). The opening is brought forward once every join is in (the state's startsAt,
// as a lifecycle change would), so the run does not wait out a guessed pre-queue.
// Targets: Redis time per join and per position read < 50 µs (a read is O(log n): ZRANK); <= 350 bytes
// of Redis memory per waiting ticket; first release < 500 ms after startsAt; every stampede process
// < 300 MB RSS. Join and read latencies are reported at the given concurrency (they include the
// client's own queueing), without a target.
// Usage: bench/run.sh waiting-room --mode redis [--users 1000000] [--stock 10000] [--reads 20000] [--via auto]
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { RedisKeys } from "../../src/adapters/redis/keys.ts";
import { TicketIds } from "../../src/adapters/redis/waiting-room/ticket-ids.ts";
import type { Campaign } from "../../src/domain/types.ts";
import { ms, num } from "../engine/format.ts";
import { runEngine } from "../engine/generator/engine.ts";
import { claimRequest, getRequest, minUserIdLength, userId } from "../engine/generator/plan.ts";
import { summarize } from "../engine/stats.ts";
import { intFlag, parseScenarioArgs } from "../harness/args.ts";
import { log } from "../harness/figures.ts";
import { ADMIN_TOKEN, startSystem } from "../harness/modes.ts";
import { statusBytes } from "../harness/processes.ts";
import { Scenario } from "../harness/scenario.ts";
import { REDIS_URL } from "../harness/services.ts";
import { evalshaStats, firstReleaseAt, storeApi, usedMemory } from "../harness/waiting-room.ts";

const args = parseScenarioArgs(
  import.meta.url,
  { deadlineMinutes: 30, pairs: 1, mode: "redis" },
  {
    stock: { type: "string", doc: "stock of the campaign (released at the opening)", default: "10000" },
    reads: { type: "string", doc: "position reads once the line is open", default: "20000" },
    via: { type: "string", doc: "auto | http | store: how joins and reads reach the room", default: "auto" },
  },
);
if (args.mode === "embedded") {
  process.stderr.write("waiting-room: distributed modes only (--mode redis | kafka)\n");
  process.exit(2);
}
const users = args.users ?? 1_000_000;
const stock = intFlag(args, "stock", 1);
const reads = intFlag(args, "reads", 0);
const concurrency = Number(args.concurrency ?? 256);
const idLength = Math.max(16, minUserIdLength(users));
const scenario = new Scenario({ name: "waiting-room", benchArgs: [], runTimeoutMs: 0 }, args);

const system = await startSystem(args.mode, { apiInstances: 1, workerInstances: 1 });
const redis = new Redis(REDIS_URL);
const prefix = system.redisPrefix!;
const keys = new RedisKeys(prefix);
const api = system.targets[0]!;
const campaignId = `room-${randomBytes(4).toString("hex")}`;
const k = keys.campaign(campaignId);
const summary: Record<string, unknown> = { users, stock, concurrency };
let ok = true;
try {
  const startsAt = Date.now() + 3 * 3600_000;
  const definition = {
    id: campaignId,
    name: "waiting room bench",
    stock,
    perUserLimit: 1,
    startsAt: new Date(startsAt).toISOString(),
    waitingRoom: { prequeueSeconds: 6 * 3600 },
  };
  const created = await fetch(`${api}/v1/campaigns`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(definition),
  });
  const via =
    args.extra.via === "auto" ? (created.status === 201 ? "http" : "store") : String(args.extra.via);
  if (via === "http" && created.status !== 201)
    throw new Error(`the API refused the campaign: ${created.status} ${await created.text()}`);
  const store = via === "store" ? await storeApi(prefix, system.databaseSchema!) : undefined;
  if (store) {
    const seed = randomBytes(32).toString("hex");
    const campaign: Campaign = {
      ...definition,
      startsAt,
      endsAt: null,
      createdAt: Date.now(),
      waitingRoom: { prequeueSeconds: 6 * 3600, seed, commitment: "" },
    };
    await store.create(campaign);
  }
  summary.via = via;
  log(
    `waiting-room: ${num(users)} joins via ${via}, concurrency ${concurrency}, stock ${num(stock)} (${args.mode})`,
  );
  const memoryBefore = await usedMemory(redis);

  // 1. The pre-queue: every user joins once.
  const joinLatency = new Float32Array(users);
  const statuses: Record<string, number> = {};
  const scriptsBefore = await evalshaStats(redis);
  const joinStarted = performance.now();
  if (store) {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < users) {
          const i = next++;
          const t0 = performance.now();
          const outcome = await store.room.join({ campaignId, userId: userId(i, idLength) });
          joinLatency[i] = performance.now() - t0;
          statuses[outcome.kind] = (statuses[outcome.kind] ?? 0) + 1;
        }
      }),
    );
  } else {
    const path = `/v1/campaigns/${campaignId}/queue`;
    await runEngine({
      targets: system.targets.map((t) => new URL(t)),
      count: users,
      concurrency,
      timeoutMs: 30_000,
      retries: 5,
      maxRetryWaitMs: 2000,
      request: (i, host) => claimRequest(host, path, userId(i, idLength)),
      onAnswer: (i, answer) => {
        joinLatency[i] = answer.latencyMs;
        const status = answer.ok ? String(answer.response.status) : answer.error;
        statuses[status] = (statuses[status] ?? 0) + 1;
      },
    });
  }
  const joinMs = performance.now() - joinStarted;
  const scriptsAfterJoins = await evalshaStats(redis);
  const join = summarize(joinLatency);
  const joined = Number(await redis.hget(k.state, "roomJoined"));
  const joinsPerSecond = (users / joinMs) * 1000;
  summary.join = { ...join, perSecond: joinsPerSecond, statuses, joined };
  log(
    `joins: ${num(joinsPerSecond)}/s over ${ms(joinMs)}; latency p50 ${ms(join.p50)}, p99 ${ms(join.p99)}, ` +
      `max ${ms(join.max)}; answers ${JSON.stringify(statuses)}; tickets in the line ${num(joined)}`,
  );
  if (joined !== users) ok = false;
  const redisUsPerCall = (a: { calls: number; usec: number }, b: { calls: number; usec: number }) =>
    (b.usec - a.usec) / Math.max(1, b.calls - a.calls);
  const redisUsPerJoin = redisUsPerCall(scriptsBefore, scriptsAfterJoins);
  summary.join = { ...(summary.join as object), redisUsPerJoin };
  log(`joins: Redis time per EVALSHA ${redisUsPerJoin.toFixed(1)} µs (room-join-5)`);
  if (redisUsPerJoin > 50) ok = false;

  // 2. Redis memory of the waiting line.
  const memoryAfter = await usedMemory(redis);
  const lineBytes = Number(await redis.memory("USAGE", k.line, "SAMPLES", 0));
  const ticketBytes = Number(await redis.memory("USAGE", k.tickets, "SAMPLES", 0));
  const perTicket = (memoryAfter - memoryBefore) / users;
  summary.memory = {
    memoryBefore,
    memoryAfter,
    perTicket,
    line: lineBytes / users,
    tickets: ticketBytes / users,
  };
  log(
    `Redis memory: ${num(perTicket)} bytes per waiting ticket (INFO used_memory); ` +
      `line ${num(lineBytes / users)} + tickets ${num(ticketBytes / users)} (MEMORY USAGE)`,
  );
  if (perTicket > 350) ok = false;

  // 3. The opening: startsAt brought forward to 2 s from now (Redis TIME); the releasers' next tick
  // releases from a line already in draw order.
  const [seconds, micros] = (await redis.time()) as [number, number];
  const opensAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 2000;
  await redis.hset(k.state, "startsAt", opensAt);
  let firstAt: number | undefined;
  while (firstAt === undefined) {
    await sleep(2);
    firstAt = await firstReleaseAt(redis, keys, campaignId);
  }
  const firstRelease = firstAt - opensAt;
  const soldOutStarted = performance.now();
  while ((await redis.hget(k.state, "roomServed")) !== String(stock)) await sleep(20);
  const releaseAllMs = performance.now() - soldOutStarted;
  summary.opening = { firstReleaseMs: firstRelease, releaseStockMs: releaseAllMs };
  log(
    `opening: first release ${ms(firstRelease)} after startsAt (the draw: nothing to do); ` +
      `${num(stock)} released in ${ms(releaseAllMs)} more`,
  );
  if (firstRelease > 500) ok = false;

  // 4. Position reads of waiting tickets (O(log n): ZRANK on the line).
  if (reads > 0) {
    const roomKey = String(await redis.hget(k.state, "roomKey"));
    const pick = Array.from({ length: reads }, () => stock + Math.floor(Math.random() * (users - stock)));
    const readLatency = new Float32Array(reads);
    const before = await evalshaStats(redis);
    const readStarted = performance.now();
    const ticketOf = (i: number) =>
      TicketIds.full(campaignId, TicketIds.derive(roomKey, userId(pick[i]!, idLength)));
    if (store) {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, 64) }, async () => {
          while (next < reads) {
            const i = next++;
            const t0 = performance.now();
            await store.room.ticket(campaignId, ticketOf(i));
            readLatency[i] = performance.now() - t0;
          }
        }),
      );
    } else {
      await runEngine({
        targets: system.targets.map((t) => new URL(t)),
        count: reads,
        concurrency: Math.min(concurrency, 64),
        timeoutMs: 30_000,
        retries: 3,
        maxRetryWaitMs: 2000,
        request: (i, host) => getRequest(host, `/v1/campaigns/${campaignId}/queue/${ticketOf(i)}`),
        onAnswer: (i, answer) => {
          readLatency[i] = answer.latencyMs;
        },
      });
    }
    const readMs = performance.now() - readStarted;
    const after = await evalshaStats(redis);
    const read = summarize(readLatency);
    const redisUs = redisUsPerCall(before, after);
    summary.reads = { ...read, perSecond: (reads / readMs) * 1000, redisUsPerRead: redisUs };
    log(
      `position reads: ${num((reads / readMs) * 1000)}/s; latency p50 ${ms(read.p50)}, p99 ${ms(read.p99)}; ` +
        `Redis time per read ${redisUs.toFixed(1)} µs (room-ticket-3: HGET + ZRANK on ${num(users)})`,
    );
    if (redisUs > 50) ok = false;
  }

  // 5. The whole draw, every drawValue in order (what GET .../draw streams).
  const drawStarted = performance.now();
  let drawn = 0;
  if (store) for await (const page of store.room.drawOrder(campaignId)) drawn += page.length;
  else {
    const res = await fetch(`${api}/v1/campaigns/${campaignId}/draw`);
    const text = await res.text();
    drawn = (text.match(/"[0-9a-f]{64}"/g) ?? []).length;
  }
  const drawMs = performance.now() - drawStarted;
  summary.draw = { entries: drawn, readMs: drawMs };
  log(`the draw: ${num(drawn)} drawValues read in order in ${ms(drawMs)}`);

  // 6. RSS.
  const rss: Record<string, number> = {};
  for (const p of system.processes) rss[p.name] = Math.round((p.peakRss() ?? 0) / 1048576);
  if (store)
    rss["bench (standing in for the API)"] = Math.round((statusBytes(process.pid, "VmHWM") ?? 0) / 1048576);
  summary.peakRssMiB = rss;
  log(
    `peak RSS (MiB): ${Object.entries(rss)
      .map(([name, v]) => `${name} ${num(v)}`)
      .join(", ")}`,
  );
  if (Object.entries(rss).some(([name, v]) => !name.startsWith("bench") && v >= 300)) ok = false;
  await store?.close();
} catch (error) {
  ok = false;
  log(`waiting-room failed: ${(error as Error).stack ?? error}`);
} finally {
  redis.disconnect();
  await system.stop();
}
scenario.finish({ ...summary, targetMet: ok });
process.exit(ok ? 0 : 1);
