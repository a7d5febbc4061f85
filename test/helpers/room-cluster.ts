import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Campaign } from "../../src/domain/types.ts";
import type { WaitingRoomStore } from "../../src/ports/waiting-room.ts";
import { inDrawOrder, ticketOf } from "../contracts/waiting-room.ts";
import { type RedisRoomHarness, redisRoomHarness } from "../contracts/waiting-room-redis-harness.ts";
import { type Cluster, startCluster } from "./distributed.ts";
import { pool } from "./load.ts";
import { sql } from "./services.ts";

/**
 * Distributed mode's waiting room with real worker processes releasing
 * (stampede worker: RoomReleaser), and this test process in the role of the
 * API processes: a RedisWaitingRoom on the cluster's prefix and schema, so
 * the line can be driven before the HTTP routes are there
 * (distributed-waiting-room.e2e.test.ts; through HTTP:
 * distributed-waiting-room-http.e2e.test.ts).
 */
export interface RoomCluster {
  cluster: Cluster;
  api: RedisRoomHarness;
}

export async function startRoomCluster(
  t: TestContext,
  options: { workers: number; env?: Record<string, string> },
): Promise<RoomCluster> {
  const cluster = await startCluster(t, { apis: 0, workers: options.workers, env: options.env });
  const api = await redisRoomHarness(t, { prefix: cluster.prefix, schema: cluster.schema });
  return { cluster, api };
}

/**
 * Joins every user (a retried join finds its ticket: joined or existing); userId -> ticketId, without
 * the users refused sold_out (a line no unit can come to any more takes no ticket: docs/api.md).
 */
export async function joinAll(
  room: WaitingRoomStore,
  campaignId: string,
  users: readonly string[],
  concurrency: number,
): Promise<Map<string, string>> {
  const tickets = await pool(users, concurrency, async (userId) => {
    const outcome = await room.join({ campaignId, userId });
    if (outcome.kind === "sold_out") return undefined;
    return ticketOf(outcome, outcome.kind === "existing" ? "existing" : "joined").ticketId;
  });
  return new Map(users.flatMap((u, i) => (tickets[i] === undefined ? [] : [[u, tickets[i]] as const])));
}

export interface LedgerClaim {
  user_id: string;
  unit: number;
  claim_id: string;
  admitted_at: number;
}

/** The campaign's claims in the ledger, in the order their units were handed out. */
export async function ledgerInUnitOrder(cluster: Cluster, campaignId: string): Promise<LedgerClaim[]> {
  return sql<LedgerClaim>(
    `SELECT user_id, unit, claim_id, admitted_at FROM "${cluster.schema}".claims
     WHERE campaign_id = $1 ORDER BY unit`,
    [campaignId],
  );
}

/**
 * The line's outcome checked against the ledger: the first `stock` tickets of
 * `order` (and only they) got claims, one each, units handed out in line
 * order; every other ticket reads sold_out; each admitted ticket names its
 * claim.
 */
export async function checkReleasedInOrder(
  rc: RoomCluster,
  campaign: Campaign,
  order: readonly string[],
  tickets: ReadonlyMap<string, string>,
): Promise<void> {
  const rows = await ledgerInUnitOrder(rc.cluster, campaign.id);
  assert.equal(rows.length, campaign.stock, "exactly the stock in the ledger");
  assert.deepEqual(
    rows.map((r) => r.unit),
    Array.from({ length: campaign.stock }, (_, i) => i + 1),
    "each unit once",
  );
  assert.deepEqual(
    rows.map((r) => r.user_id),
    order.slice(0, campaign.stock),
    "released in line order",
  );
  const views = await pool(order, 50, async (user) => {
    const ticketId = tickets.get(user);
    return ticketId === undefined ? null : rc.api.room.ticket(campaign.id, ticketId);
  });
  views.forEach((view, i) => {
    if (view === null) assert.ok(i >= campaign.stock, `${order[i]}: refused sold_out, yet within the stock`);
    else if (i < campaign.stock) {
      assert.equal(view?.status, "admitted", order[i]);
      assert.equal(view?.claimId, rows[i]!.claim_id, order[i]);
    } else assert.equal(view?.status, "sold_out", order[i]);
  });
}

export { inDrawOrder };
