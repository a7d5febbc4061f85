import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { StampedeClient } from "../../src/client/client.ts";
import { verifyDraw } from "../../src/client/draw.ts";
import type { Draw } from "../../src/client/types.ts";
import type { LedgerRow } from "./holds.ts";
import { countBy, pool } from "./load.ts";
import { retryingClient } from "./retrying-client.ts";

/**
 * Issue 17's waiting-room scenarios (docs/api.md "Waiting room"), written
 * against the HTTP API only, so that every mode runs the same ones: give
 * them a base URL (or a function naming the live one, for restarts), the
 * admin token, and a way to read the campaign's claims from the ledger
 * (holds.ts embeddedLedgerRows; distributed mode reads PostgreSQL's claims
 * table into the same shape). Nothing here assumes a mode.
 *
 * - roomClient: create a room, join (retrying what is not definitive, as a
 *   client does), read tickets, the campaign, the draw; watch a ticket (SSE).
 * - lineOrder / drawValueOf: the order the contract promises, recomputed
 *   from the revealed seed.
 * - fairOpening: N users join during the pre-queue in random order and
 *   timing, M more after the opening in a known arrival order; the line is
 *   released and every promise of the contract checked.
 * - holdsRelease: expiring and released holds let the next tickets in, in order.
 */

/** A ticket as the API shows it. */
export interface TicketBody {
  ticketId: string;
  campaignId: string;
  userId: string;
  status: "waiting" | "admitted" | "sold_out";
  position: number | null;
  ahead: number | null;
  remaining: number;
  etaSeconds: number | null;
  drawValue?: string;
  claimId?: string;
}

export interface RoomAnswer {
  status: number;
  body: Record<string, unknown>;
  /** How many times it was sent (more than 1 when a 503 or a cut connection made the client retry). */
  attempts: number;
}

/** A watched ticket's events, each with the moment it arrived (epoch ms). */
export interface WatchedEvent {
  at: number;
  ticket: TicketBody;
}

export interface RoomClient {
  /** Creates a campaign (admin); throws unless 201; the body. */
  createRoom(body: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The campaign as GET shows it, or undefined when it cannot be read now. */
  campaign(campaignId: string): Promise<Record<string, unknown> | undefined>;
  /** POST .../queue, sent again while the answer is not definitive. */
  join(campaignId: string, userId: string): Promise<RoomAnswer>;
  /** GET .../queue/:ticketId; undefined unless 200. */
  ticket(campaignId: string, ticketId: string): Promise<TicketBody | undefined>;
  /** A direct claim (POST .../claims), once. */
  claim(campaignId: string, userId: string): Promise<RoomAnswer>;
  /** An admin request, once. */
  admin(method: string, path: string, body?: unknown): Promise<RoomAnswer>;
  draw(campaignId: string): Promise<Draw>;
  /** Follows a ticket's event stream to its end (admitted or sold_out). */
  watch(campaignId: string, ticketId: string): Promise<WatchedEvent[]>;
  close(): void;
}

/** Statuses that end a request; anything else (503, a cut connection) is sent again. */
const DEFINITIVE = new Set([200, 201, 202, 400, 403, 404, 409, 410, 429]);

export function roomClient(
  baseUrl: string | (() => string),
  adminToken: string,
  options: { retryForMs?: number; maxSockets?: number } = {},
): RoomClient {
  const { http, send, close, urlOf, retryForMs } = retryingClient(baseUrl, DEFINITIVE, options);
  const adminHeaders = { authorization: `Bearer ${adminToken}` };
  return {
    async createRoom(body) {
      const answer = await send("POST", "/v1/campaigns", body, adminHeaders);
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return answer.body;
    },
    async campaign(campaignId) {
      const answer = await http().request({ method: "GET", path: `/v1/campaigns/${campaignId}` }, 5000);
      return answer.status === 200 ? answer.body : undefined;
    },
    join: (campaignId, userId) => send("POST", `/v1/campaigns/${campaignId}/queue`, { userId }),
    async ticket(campaignId, ticketId) {
      const answer = await http().request(
        { method: "GET", path: `/v1/campaigns/${campaignId}/queue/${ticketId}` },
        5000,
      );
      return answer.status === 200 ? (answer.body as unknown as TicketBody) : undefined;
    },
    async claim(campaignId, userId) {
      const answer = await http().request({
        method: "POST",
        path: `/v1/campaigns/${campaignId}/claims`,
        body: { userId },
      });
      return { status: answer.status, body: answer.body, attempts: 1 };
    },
    async admin(method, path, body) {
      const answer = await http().request({ method, path, body, headers: adminHeaders });
      return { status: answer.status, body: answer.body, attempts: 1 };
    },
    draw: (campaignId) => new StampedeClient({ baseUrl: urlOf(), deadlineMs: retryForMs }).draw(campaignId),
    async watch(campaignId, ticketId) {
      const client = new StampedeClient({ baseUrl: urlOf(), deadlineMs: retryForMs });
      const events: WatchedEvent[] = [];
      for await (const ticket of client.watchTicket(campaignId, ticketId))
        events.push({ at: Date.now(), ticket: ticket as unknown as TicketBody });
      return events;
    },
    close,
  };
}

/** hex HMAC-SHA256(seed's bytes, UTF-8 userId): the user's key in the draw. */
export const drawValueOf = (seedHex: string, userId: string): string =>
  createHmac("sha256", Buffer.from(seedHex, "hex")).update(userId, "utf8").digest("hex");

/** The contract's line: the pre-queue by ascending drawValue, then the later joiners in arrival order. */
export function lineOrder(
  seedHex: string,
  prequeued: readonly string[],
  arrivals: readonly string[],
): string[] {
  const keyed = prequeued.map((u) => [drawValueOf(seedHex, u), u] as const);
  keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [...keyed.map(([, u]) => u), ...arrivals];
}

/** The seed checks out against the commitment shown at creation; the draw lists the pre-queue in order. */
export async function assertDraw(
  client: RoomClient,
  campaignId: string,
  commitment: string,
  prequeued: readonly string[],
): Promise<Draw> {
  const campaign = await client.campaign(campaignId);
  assert.equal(campaign?.drawCommitment, commitment, "the commitment never changes");
  const seed = String(campaign?.drawSeed);
  assert.equal(
    createHash("sha256").update(Buffer.from(seed, "hex")).digest("hex"),
    commitment,
    "sha256(revealed seed) = the commitment shown at creation",
  );
  const draw = await client.draw(campaignId);
  assert.equal(draw.drawSeed, seed);
  assert.equal(draw.drawCommitment, commitment);
  assert.equal(draw.prequeued, prequeued.length);
  assert.deepEqual(
    draw.order,
    prequeued.map((u) => drawValueOf(seed, u)).sort(),
    "the draw order is the HMAC order",
  );
  assert.equal(await verifyDraw(draw), true, "the client library's verifyDraw agrees");
  return draw;
}

/** Reads every ticket, `concurrency` at a time; fails on one that cannot be read. */
export async function readTickets(
  client: RoomClient,
  campaignId: string,
  ticketIds: readonly string[],
  concurrency = 50,
): Promise<TicketBody[]> {
  return pool(ticketIds, concurrency, async (id) => {
    const ticket = await client.ticket(campaignId, id);
    assert.ok(ticket, `ticket ${id} readable`);
    return ticket;
  });
}

/** Polls one ticket until `done`; fails after `timeoutMs`. */
export async function ticketUntil(
  client: RoomClient,
  campaignId: string,
  ticketId: string,
  done: (t: TicketBody) => boolean,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<{ ticket: TicketBody; at: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: TicketBody | undefined;
  for (;;) {
    last = (await client.ticket(campaignId, ticketId).catch(() => undefined)) ?? last;
    if (last && done(last)) return { ticket: last, at: Date.now() };
    if (Date.now() > deadline) assert.fail(`ticket ${ticketId} did not get there: ${JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}

/**
 * What a watched ticket's stream must look like: positions that never grow
 * while waiting, an ETA that never rises, at most one event a second while
 * waiting (`minGapMs` less a margin), a last event admitted or sold_out.
 */
export function assertWatched(events: readonly WatchedEvent[], minGapMs = 1000): void {
  assert.ok(events.length > 0, "a stream sends the ticket at once");
  const last = events.at(-1)!.ticket;
  assert.ok(
    last.status === "admitted" || last.status === "sold_out",
    `the stream ends final: ${last.status}`,
  );
  let position = Infinity;
  let eta = Infinity;
  for (const [i, { at, ticket }] of events.entries()) {
    if (ticket.status !== "waiting") {
      assert.equal(i, events.length - 1, "nothing after a final event");
      continue;
    }
    if (ticket.position !== null) {
      assert.ok(ticket.position <= position, `position never grows: ${position} then ${ticket.position}`);
      position = ticket.position;
    }
    if (ticket.etaSeconds !== null) {
      assert.ok(ticket.etaSeconds <= eta, `ETA never rises: ${eta} then ${ticket.etaSeconds}`);
      eta = ticket.etaSeconds;
    }
    const next = events[i + 1];
    if (next?.ticket.status === "waiting" && i > 0)
      assert.ok(next.at - at >= minGapMs * 0.8, `at most one event a ${minGapMs} ms: ${next.at - at} ms`);
  }
}

export interface FairOpeningOptions {
  campaignId: string;
  /** Users who join during the pre-queue, in random order and at random moments. */
  prequeued: number;
  /** Users who join after startsAt, one after the other (their arrival order is known). */
  late: number;
  stock: number;
  releasePerSecond?: number;
  /** How long the pre-queue is open before startsAt, for these joins. */
  prequeueMs: number;
  /** Tickets followed over SSE, spread along the line. */
  watchers?: number;
  /** The campaign's claims in the ledger. */
  rows: () => LedgerRow[] | Promise<LedgerRow[]>;
  log: (message: string) => void;
  /** Requests in flight at once (default 100). */
  concurrency?: number;
}

export interface FairOpeningFigures {
  prequeued: number;
  late: number;
  admitted: number;
  soldOut: number;
  joinMs: number;
  /** From startsAt to the last admission. */
  releaseMs: number;
  /** From the last admission to the last ticket of the line reading sold_out (0 when none is). */
  soldOutAfterMs: number;
  watched: number;
  events: number;
}

/**
 * The fair opening of issue 17. The campaign must not exist yet; no rate
 * limit should hold the users back. Checked: every pre-queue join answered
 * 202 with no position and no drawValue; the commitment shown at creation
 * matches the seed revealed at startsAt; the draw lists the pre-queue in
 * HMAC order; the claims were admitted (by unit, in admission order) exactly
 * in line order (the pre-queue by HMAC, then the late joiners in arrival
 * order) up to the stock, one per user, each ticket naming its claim; every
 * other ticket sold out without waiting for a timeout; watched streams never
 * saw a position grow or an ETA rise and ended at admitted or sold_out.
 */
export async function fairOpening(client: RoomClient, o: FairOpeningOptions): Promise<FairOpeningFigures> {
  const { campaignId, stock } = o;
  const concurrency = o.concurrency ?? 100;
  const startsAt = Date.now() + o.prequeueMs + 500;
  const created = await client.createRoom({
    id: campaignId,
    name: "Fair opening",
    stock,
    startsAt: new Date(startsAt).toISOString(),
    waitingRoom: {
      prequeueSeconds: Math.ceil(o.prequeueMs / 1000) + 60,
      ...(o.releasePerSecond ? { releasePerSecond: o.releasePerSecond } : {}),
    },
  });
  const commitment = String(created.drawCommitment);
  assert.match(commitment, /^[0-9a-f]{64}$/);
  assert.equal(created.drawSeed, undefined, "no seed before startsAt");

  // Pre-queue: random order, random moments within the window.
  const early = shuffle(Array.from({ length: o.prequeued }, (_, i) => `early-${i}`));
  const joinStarted = performance.now();
  const windowMs = Math.max(0, startsAt - Date.now() - 700);
  const slots = Array.from({ length: concurrency }, () => Promise.resolve());
  const tickets = new Map<string, string>();
  await Promise.all(
    early.map(async (userId, i) => {
      await sleep(Math.random() * windowMs);
      const lane = i % concurrency;
      const turn = slots[lane]!.then(async () => {
        const answer = await client.join(campaignId, userId);
        assert.equal(answer.status, 202, `${userId}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.position, null, "no position in the pre-queue");
        assert.equal(answer.body.drawValue, undefined, "no drawValue before the seed is public");
        tickets.set(userId, String(answer.body.ticketId));
      });
      slots[lane] = turn;
      await turn;
    }),
  );
  assert.ok(Date.now() < startsAt, "the pre-queue joins all came before startsAt");
  const joinMs = Math.round(performance.now() - joinStarted);
  o.log(`${early.length} pre-queue joins in ${joinMs} ms`);

  // Opening: the late joiners, one after the other; watchers along the line.
  await sleep(Math.max(0, startsAt - Date.now() + 20));
  const late = Array.from({ length: o.late }, (_, i) => `late-${i}`);
  const watchedIds = spread([...tickets.values()], o.watchers ?? 0);
  const watching = watchedIds.map((id) => client.watch(campaignId, id));
  for (const userId of late) {
    const answer = await client.join(campaignId, userId);
    if (answer.status === 410) break; // the line is hopeless already: nobody joins a sold-out line
    assert.equal(answer.status, 202, `${userId}: ${JSON.stringify(answer.body)}`);
    tickets.set(userId, String(answer.body.ticketId));
  }
  const joinedLate = late.filter((u) => tickets.has(u));

  const campaign = await client.campaign(campaignId);
  const seed = String(campaign?.drawSeed);
  await assertDraw(client, campaignId, commitment, early);
  const line = lineOrder(seed, early, joinedLate);
  const admitted = line.slice(0, stock);
  const soldOut = line.slice(stock);

  // The end of the line: admitted, or sold out at once when the stock ran out.
  const lastUser = line.at(-1)!;
  const end = await ticketUntil(
    client,
    campaignId,
    tickets.get(lastUser)!,
    (t) => t.status !== "waiting",
    120_000,
  );
  const finals = await readTickets(
    client,
    campaignId,
    line.map((u) => tickets.get(u)!),
    concurrency,
  );
  assert.deepEqual(
    countBy(finals, (t) => t.status),
    {
      ...(admitted.length ? { admitted: admitted.length } : {}),
      ...(soldOut.length ? { sold_out: soldOut.length } : {}),
    },
  );
  for (const [i, t] of finals.entries()) {
    assert.equal(t.userId, line[i], "each ticket is its user's");
    assert.equal(t.status, i < stock ? "admitted" : "sold_out", `${line[i]} at ${i + 1} in line`);
    if (i < early.length)
      assert.equal(t.drawValue, drawValueOf(seed, line[i]!), "a pre-queued ticket shows its drawValue");
    if (t.status === "admitted") assert.ok(t.claimId, "an admitted ticket names its claim");
    else assert.equal(t.position, null);
  }

  // The ledger: one claim per admitted user, in line order by unit (admission order), each its ticket's.
  const rows = await ledgerRows(o.rows, admitted.length);
  assert.equal(rows.length, admitted.length, "exactly the stock (or the line) got claims");
  assert.deepEqual(
    [...rows].sort((a, b) => a.unit - b.unit).map((r) => r.userId),
    admitted,
    "the order of admission is the line's: the pre-queue by HMAC, then arrivals",
  );
  const claimOf = new Map(rows.map((r) => [r.userId, r.claimId]));
  for (const [i, t] of finals.slice(0, admitted.length).entries())
    assert.equal(
      t.claimId,
      claimOf.get(admitted[i]!),
      `${admitted[i]}'s ticket names the claim the ledger holds`,
    );

  const lastAdmission = Math.max(...rows.map((r) => r.admittedAt ?? r.issuedAt ?? 0));
  const soldOutAfterMs = soldOut.length ? Math.max(0, end.at - lastAdmission) : 0;
  if (soldOut.length)
    assert.ok(soldOutAfterMs < 3000, `sold out at once, not after a timeout (${soldOutAfterMs} ms)`);

  const streams = await Promise.all(watching);
  for (const events of streams) assertWatched(events);
  const figures: FairOpeningFigures = {
    prequeued: early.length,
    late: joinedLate.length,
    admitted: admitted.length,
    soldOut: soldOut.length,
    joinMs,
    releaseMs: Math.max(0, lastAdmission - startsAt),
    soldOutAfterMs,
    watched: streams.length,
    events: streams.reduce((n, s) => n + s.length, 0),
  };
  o.log(JSON.stringify(figures));
  return figures;
}

/** The ledger's claims of the campaign, once `count` are there and issued. */
async function ledgerRows(rows: FairOpeningOptions["rows"], count: number): Promise<LedgerRow[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const current = await rows();
    if (current.length >= count && current.every((r) => r.status === "issued")) return current;
    if (Date.now() > deadline) assert.fail(`the ledger holds ${current.length} claims, not ${count}`);
    await sleep(100);
  }
}

export interface HoldsReleaseOptions {
  campaignId: string;
  /** Users in the pre-queue; the stock is a third of them. */
  users: number;
  holdSeconds: number;
  log: (message: string) => void;
}

/**
 * Holds and a line (issue 17): a stock of holds admitted from the line; of
 * the first wave a third is confirmed, a third released, a third left to
 * expire. Each unit that comes back (released at once, expired after
 * holdSeconds) lets the next ticket in, in line order; once every hold is
 * decided and none can come back, the rest are sold out. The server's
 * HOLD_MIN_SECONDS must allow `holdSeconds`.
 */
export async function holdsRelease(client: RoomClient, o: HoldsReleaseOptions) {
  const { campaignId, users } = o;
  const stock = Math.floor(users / 3);
  const startsAt = Date.now() + 1500;
  await client.createRoom({
    id: campaignId,
    name: "Holds line",
    stock,
    holdSeconds: o.holdSeconds,
    startsAt: new Date(startsAt).toISOString(),
    waitingRoom: { prequeueSeconds: 60 },
  });
  const ids = Array.from({ length: users }, (_, i) => `holder-${i}`);
  const tickets = new Map<string, string>();
  await pool(ids, 50, async (u) => {
    const answer = await client.join(campaignId, u);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    tickets.set(u, String(answer.body.ticketId));
  });
  await sleep(Math.max(0, startsAt - Date.now() + 20));
  const seed = String((await client.campaign(campaignId))?.drawSeed);
  const line = lineOrder(seed, ids, []);
  const ticketOf = (u: string) => tickets.get(u)!;

  // The first wave: the head of the line, as holds.
  const first = await Promise.all(
    line
      .slice(0, stock)
      .map((u) => ticketUntil(client, campaignId, ticketOf(u), (t) => t.status === "admitted")),
  );
  const next = await client.ticket(campaignId, ticketOf(line[stock]!));
  assert.equal(next?.status, "waiting", "the next in line waits: every unit is held");
  assert.equal(next?.position, 1);

  // A third confirmed, a third released now, a third left to expire.
  const claimIds = first.map((f) => f.ticket.claimId!);
  const third = Math.floor(stock / 3);
  const confirmed = claimIds.slice(0, third);
  const released = claimIds.slice(third, 2 * third);
  for (const id of confirmed)
    assert.equal((await client.admin("POST", `/v1/claims/${id}/confirm`)).status, 200);
  const releasedAt = Date.now();
  for (const id of released)
    assert.equal((await client.admin("POST", `/v1/claims/${id}/release`)).status, 200);
  // The released units let the next `third` in, in line order.
  const secondWave = line.slice(stock, stock + released.length);
  const second = await Promise.all(
    secondWave.map((u) => ticketUntil(client, campaignId, ticketOf(u), (t) => t.status === "admitted")),
  );
  const afterRelease = Math.max(...second.map((s) => s.at)) - releasedAt;
  // Confirmed at once: their holds must not come back into play (holdSeconds may be short).
  const confirmAll = (wave: { ticket: TicketBody }[]) =>
    Promise.all(
      wave.map(async (s) =>
        assert.equal((await client.admin("POST", `/v1/claims/${s.ticket.claimId}/confirm`)).status, 200),
      ),
    );
  await confirmAll(second);
  const waiting = await client.ticket(campaignId, ticketOf(line[stock + released.length]!));
  assert.equal(waiting?.status, "waiting", "the line stops where the released units end");

  // The expiring ones let the following in, after holdSeconds.
  const expiring = stock - 2 * third;
  const thirdWave = line.slice(stock + released.length, stock + released.length + expiring);
  const third3 = await Promise.all(
    thirdWave.map((u) =>
      ticketUntil(
        client,
        campaignId,
        ticketOf(u),
        (t) => t.status === "admitted",
        o.holdSeconds * 1000 + 15_000,
      ),
    ),
  );
  await confirmAll(third3);
  const firstExpiry = Date.now();
  // Admitted in line order: the claims' units follow it (units come back lowest first, so compare admission times).
  const admittedAt = async (claimId: string) =>
    Date.parse(String((await client.admin("GET", `/v1/claims/${claimId}`)).body.admittedAt));
  const waves = [second, third3].map((w) => w.map((s) => s.ticket.claimId!));
  for (const wave of waves) {
    const times = await Promise.all(wave.map(admittedAt));
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, "admitted in line order");
  }
  // Every hold is decided: none can come back, so the rest of the line is sold out.
  const rest = line.slice(stock + released.length + expiring);
  const ends = await Promise.all(
    rest.map((u) => ticketUntil(client, campaignId, ticketOf(u), (t) => t.status !== "waiting", 15_000)),
  );
  for (const e of ends) assert.equal(e.ticket.status, "sold_out");
  const figures = {
    stock,
    confirmed: confirmed.length,
    released: released.length,
    expired: expiring,
    afterReleaseMs: afterRelease,
    soldOut: rest.length,
    expiryWaveMs: firstExpiry - releasedAt,
  };
  o.log(JSON.stringify(figures));
  return figures;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** `n` items spread evenly over `items`. */
function spread<T>(items: readonly T[], n: number): T[] {
  if (n <= 0 || items.length === 0) return [];
  const step = items.length / n;
  return Array.from({ length: Math.min(n, items.length) }, (_, i) => items[Math.floor(i * step)]!);
}
