import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { type Cluster, checkInvariants, type Reply } from "./distributed.ts";
import { type Answer, createClient } from "./load.ts";
import { steadyClaims, type Timed } from "./steady-claims.ts";
import { eventually as waitFor } from "./wait.ts";

/**
 * A dependency that hangs (SIGSTOP) under steady traffic, for the freeze
 * tests (test/runtime/freeze-*.e2e.test.ts): claims from distinct users at a
 * steady pace on every lane, and reads beside them (a claim, the campaign,
 * both processes' /readyz). The dependency is frozen for `frozenMs`, then
 * resumed; traffic goes on for `afterMs`, then every user answered 503 tries
 * once more, as a client honouring Retry-After would (a 503 may hide an
 * admission made after its deadline: the retry then answers 409 naming it).
 * Then the system is left to issue everything and the invariants (docs/api.md) are
 * checked against the ledger.
 */
export interface FreezeOptions {
  cluster: Cluster;
  campaignId: string;
  stock: number;
  /** REQUEST_TIMEOUT_MS the processes run with. */
  requestTimeoutMs: number;
  freeze(): void;
  thaw(): void;
  beforeMs?: number;
  frozenMs?: number;
  afterMs?: number;
  /** Claim lanes, each sending one claim every `paceMs` at most. */
  lanes?: number;
  paceMs?: number;
  log: (line: string) => void;
}

type Phase = "before" | "frozen" | "after";

interface Sent {
  route: string;
  phase: Phase;
  sentAt: number;
  answer: Answer;
}

export interface FreezeReport {
  /** Answers by phase (when the request was sent) and route: "<route> <status>" -> count. */
  byPhase: Record<Phase, Record<string, number>>;
  /** The slowest answer of each route during the whole run (ms). */
  slowestMs: Record<string, number>;
  /** From the thaw to the first 202 for a claim sent after it (ms). */
  admittingAgainMs: number;
  /** From the thaw to the campaign's `issued` count rising again (ms). */
  issuingAgainMs: number;
  /** From the thaw to the worker's /readyz answering 200 again (ms). */
  workerReadyAgainMs: number;
  /** From the end of the traffic (and the retries) to `pending` 0 (ms). */
  drainedMs: number;
  /** What the retries of the users answered 503 got. */
  retried: Record<string, number>;
}

const CONTRACT = new Set([200, 202, 403, 404, 409, 410, 429, 503]);

export async function freezeUnderTraffic(o: FreezeOptions): Promise<FreezeReport> {
  const { cluster, campaignId, requestTimeoutMs } = o;
  const api = cluster.apis[0]!.url;
  const worker = cluster.workers[0]!.url;
  const frozenMs = o.frozenMs ?? 4000;
  // Far past the bound, so that a request that hangs is seen as one.
  const clientTimeoutMs = requestTimeoutMs + 10_000;
  const apiClient = createClient(api);
  const workerClient = createClient(worker);
  await warmUp(o.cluster, apiClient, workerClient);
  const sent: Sent[] = [];
  let phase: Phase = "before";
  let thawedAt = 0;
  let admittingAgainMs = -1;
  let workerReadyAgainMs = -1;
  let issuingAgainMs = -1;
  let issuedAtThaw: number | undefined;
  let issued = 0;
  let stopped = false;

  const send = async (
    client: typeof apiClient,
    route: string,
    spec: Parameters<typeof apiClient.request>[0],
  ) => {
    const at = phase;
    const sentAt = performance.now();
    const answer = await client.request(spec, clientTimeoutMs);
    sent.push({ route, phase: at, sentAt, answer });
    return answer;
  };

  const claimAnswers = steadyClaims<Answer>(
    async (userId) => {
      const started = performance.now();
      const answer = await send(apiClient, "POST claim", {
        method: "POST",
        path: `/v1/campaigns/${campaignId}/claims`,
        body: { userId },
      });
      if (answer.status === 202 && thawedAt > 0 && started >= thawedAt && admittingAgainMs < 0)
        admittingAgainMs = performance.now() - thawedAt;
      const rest = (o.paceMs ?? 20) - (performance.now() - started);
      if (rest > 0) await sleep(rest);
      return answer;
    },
    { users: 1_000_000, lanes: o.lanes ?? 10, done: () => stopped },
  );

  // Reads beside the claims: each waits on a dependency the freeze may hold.
  let someClaim: string | undefined;
  const reads = (async () => {
    while (!stopped) {
      const claimId = someClaim;
      await Promise.all([
        claimId === undefined
          ? undefined
          : send(apiClient, "GET claim", { method: "GET", path: `/v1/claims/${claimId}` }),
        send(apiClient, "GET campaign", { method: "GET", path: `/v1/campaigns/${campaignId}` }).then(
          (answer) => {
            if (answer.status !== 200) return;
            issued = Number(answer.body.issued);
            if (issuedAtThaw !== undefined && issued > issuedAtThaw && issuingAgainMs < 0)
              issuingAgainMs = performance.now() - thawedAt;
          },
        ),
        send(apiClient, "GET api /readyz", { method: "GET", path: "/readyz" }),
        send(workerClient, "GET worker /readyz", { method: "GET", path: "/readyz" }).then((answer) => {
          if (answer.status === 200 && thawedAt > 0 && workerReadyAgainMs < 0)
            workerReadyAgainMs = performance.now() - thawedAt;
        }),
      ]);
      await sleep(100);
    }
  })();

  const schedule = (async () => {
    await sleep(o.beforeMs ?? 3000);
    someClaim = sent.find((s) => s.route === "POST claim" && s.answer.status === 202)?.answer.body.claimId as
      | string
      | undefined;
    o.freeze();
    phase = "frozen";
    o.log(`frozen at ${sent.length} requests`);
    await sleep(frozenMs);
    o.thaw();
    thawedAt = performance.now();
    issuedAtThaw = issued;
    phase = "after";
    o.log(`thawed after ${frozenMs} ms`);
    await sleep(o.afterMs ?? 5000);
    stopped = true;
  })();
  // Thawed whatever happens, so that a failing run leaves nothing stopped.
  try {
    await schedule;
  } finally {
    o.thaw();
    stopped = true;
  }
  const claims = await claimAnswers;
  await reads;

  // Users answered 503 retry once, as clients honouring Retry-After would.
  const retried: Record<string, number> = {};
  const final = new Map<string, Answer>(claims.map((c: Timed<Answer>) => [c.userId, c.reply]));
  for (const c of claims) {
    if (c.reply.status !== 503) continue;
    const again = await apiClient.request({
      method: "POST",
      path: `/v1/campaigns/${campaignId}/claims`,
      body: { userId: c.userId },
    });
    retried[again.status] = (retried[again.status] ?? 0) + 1;
    final.set(c.userId, again);
  }

  const quietAt = performance.now();
  await waitFor(
    async () =>
      (await apiClient.request({ method: "GET", path: `/v1/campaigns/${campaignId}` })).body.pending === 0,
    60_000,
    "every admitted claim issued",
  );
  const drainedMs = performance.now() - quietAt;
  apiClient.close();
  workerClient.close();

  const report = summarise(sent, {
    admittingAgainMs,
    issuingAgainMs,
    workerReadyAgainMs,
    drainedMs,
    retried,
  });
  o.log(JSON.stringify(report));

  // Invariant 5: every request answered in time, with a contract code; no reset, no 5xx but 503.
  for (const s of sent) {
    const what = `${s.route} (${s.phase}) -> ${s.answer.status} ${s.answer.error ?? ""} after ${Math.round(s.answer.ms)} ms`;
    assert.ok(CONTRACT.has(s.answer.status), `not a contract answer: ${what}`);
    assert.ok(s.answer.ms <= requestTimeoutMs + 1000, `answered too late: ${what}`);
    if (s.answer.status === 503)
      assert.ok(Number(s.answer.headers["retry-after"]) >= 1, `503 without Retry-After: ${what}`);
    if (s.route === "GET claim") assert.notEqual(s.answer.status, 404, "an existing claim read as 404");
  }
  assert.ok(
    admittingAgainMs >= 0 && admittingAgainMs < 5000,
    `admitting again ${admittingAgainMs} ms after the thaw`,
  );
  assert.ok(
    issuingAgainMs >= 0 && issuingAgainMs < 10_000,
    `issuing again ${issuingAgainMs} ms after the thaw`,
  );
  assert.ok(
    workerReadyAgainMs >= 0 && workerReadyAgainMs < 10_000,
    `worker ready again ${workerReadyAgainMs} ms after the thaw`,
  );

  // Invariants 1-4: every 202 issued exactly once, with nothing over-issued.
  const answers = new Map<string, Reply>();
  const admitted = new Map<string, string>();
  for (const c of claims) if (c.reply.status === 202) admitted.set(c.userId, String(c.reply.body.claimId));
  for (const [userId, answer] of final) {
    assert.ok([202, 409, 410].includes(answer.status), `${userId} still undecided: ${answer.status}`);
    answers.set(userId, { status: answer.status, body: answer.body, headers: answer.headers });
    if (answer.status === 202) admitted.set(userId, String(answer.body.claimId));
  }
  const rows = await cluster.rows(campaignId);
  assert.equal(new Set(rows.map((r) => r.claim_id)).size, rows.length, "a claim issued twice");
  checkInvariants(rows, answers, admitted, { stock: o.stock });
  return report;
}

/**
 * Before the traffic: the worker ready (in its consumer groups) and one claim
 * admitted and issued in a campaign of its own, so that first connections
 * and a first produce are not counted as the freeze's doing.
 */
async function warmUp(
  cluster: Cluster,
  api: ReturnType<typeof createClient>,
  worker: ReturnType<typeof createClient>,
) {
  await waitFor(
    async () => (await worker.request({ method: "GET", path: "/readyz" })).status === 200,
    60_000,
    "worker ready",
  );
  await cluster.createCampaign({ id: "warm-up", name: "warm-up", stock: 10 });
  let claimId: string | undefined;
  await waitFor(
    async () => {
      const answer = await api.request({
        method: "POST",
        path: "/v1/campaigns/warm-up/claims",
        body: { userId: "warm-up" },
      });
      if (answer.status === 202 || answer.status === 409) claimId = String(answer.body.claimId);
      return claimId !== undefined;
    },
    60_000,
    "a first claim admitted",
  );
  await waitFor(
    async () =>
      (await api.request({ method: "GET", path: `/v1/claims/${claimId}` })).body.status === "issued",
    60_000,
    "a first claim issued",
  );
}

function summarise(sent: Sent[], rest: Omit<FreezeReport, "byPhase" | "slowestMs">): FreezeReport {
  const byPhase: FreezeReport["byPhase"] = { before: {}, frozen: {}, after: {} };
  const slowestMs: Record<string, number> = {};
  for (const s of sent) {
    const status = s.answer.status || s.answer.error;
    // A 503 says which deadline answered it (the dependency's, or the request's).
    const key = `${s.route} ${status}${s.answer.status === 503 ? ` ${String(s.answer.body.message)}` : ""}`;
    byPhase[s.phase][key] = (byPhase[s.phase][key] ?? 0) + 1;
    slowestMs[s.route] = Math.max(slowestMs[s.route] ?? 0, Math.round(s.answer.ms));
  }
  return {
    byPhase,
    slowestMs,
    ...rest,
    admittingAgainMs: Math.round(rest.admittingAgainMs),
    issuingAgainMs: Math.round(rest.issuingAgainMs),
    workerReadyAgainMs: Math.round(rest.workerReadyAgainMs),
    drainedMs: Math.round(rest.drainedMs),
  };
}
