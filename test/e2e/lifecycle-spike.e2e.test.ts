import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Answer, countBy, createClient, waitQuiet } from "../helpers/load.ts";
import { startServer } from "../helpers/server-process.ts";
import { steadyClaims } from "../helpers/steady-claims.ts";
import { tempDir } from "../helpers/tmp.ts";

const ADMIN = "lifecycle-admin-token-0123456789";
const auth = { authorization: `Bearer ${ADMIN}` };

async function startEmbedded(t: Parameters<typeof tempDir>[0], sockets: number) {
  const server = await startServer("start", { DATA_DIR: tempDir(t), ADMIN_TOKEN: ADMIN, FSYNC: "always" });
  t.after(() => server.stop("SIGKILL"));
  const client = createClient(server.url, sockets);
  // Admin calls go on their own connection, not queued behind the spike.
  const adminClient = createClient(server.url, 1);
  t.after(() => {
    client.close();
    adminClient.close();
  });
  return { client, adminClient };
}

type Timed = Answer & { sentAt: number; answeredAt: number };

/** `lanes` clients each claim back to back (distinct users) until `users` are used up or `done()`. */
async function claimFlow(
  client: ReturnType<typeof createClient>,
  campaignId: string,
  users: number,
  lanes: number,
  onAnswer: (answer: Timed) => void = () => undefined,
  done: () => boolean = () => false,
): Promise<Timed[]> {
  const timed = await steadyClaims(
    (userId) =>
      client.request({ method: "POST", path: `/v1/campaigns/${campaignId}/claims`, body: { userId } }),
    {
      users,
      lanes,
      done,
      onAnswer: (a) => onAnswer({ ...a.reply, sentAt: a.sentAt, answeredAt: a.answeredAt }),
    },
  );
  return timed.map((a) => ({ ...a.reply, sentAt: a.sentAt, answeredAt: a.answeredAt }));
}

async function assertAllIssued(client: ReturnType<typeof createClient>, admitted: Answer[]) {
  const claims = await Promise.all(
    admitted.map(
      async (a) => (await client.request({ method: "GET", path: `/v1/claims/${a.body.claimId}` })).body,
    ),
  );
  for (const claim of claims) assert.equal(claim.status, "issued", `claim ${claim.claimId} not issued`);
}

describe("lifecycle changes during a spike (embedded, real sockets)", () => {
  test("pause and resume mid-spike: no 202 while paused, none lost around either switch", async (t) => {
    const { client, adminClient } = await startEmbedded(t, 200);
    const create = await adminClient.request({
      method: "POST",
      path: "/v1/campaigns",
      headers: auth,
      body: { id: "pr", name: "Pause", stock: 100_000 },
    });
    assert.equal(create.status, 201);

    // The flow runs until 500 ms after the resume, whatever the machine's speed.
    const users = 100_000;
    const times = { pauseSent: 0, pauseAcked: 0, resumeSent: 0, resumeAcked: 0 };
    let finished = false;
    const admin = (async () => {
      // Let the flow start, pause for a while, resume while it still runs.
      await sleep(400);
      times.pauseSent = performance.now();
      const paused = await adminClient.request({
        method: "PATCH",
        path: "/v1/campaigns/pr",
        headers: { ...auth, "x-actor": "spike-test" },
        body: { status: "paused" },
      });
      times.pauseAcked = performance.now();
      assert.equal(paused.status, 200);
      await sleep(700);
      times.resumeSent = performance.now();
      const resumed = await adminClient.request({
        method: "PATCH",
        path: "/v1/campaigns/pr",
        headers: auth,
        body: { status: "open" },
      });
      times.resumeAcked = performance.now();
      assert.equal(resumed.status, 200);
      await sleep(500);
      finished = true;
    })();
    const answers = await claimFlow(client, "pr", users, 100, undefined, () => finished);
    await admin;

    const byStatus = countBy(answers, (a) => (a.status === 403 ? `403 ${a.body.reason}` : a.status));
    t.diagnostic(
      `answers ${JSON.stringify(byStatus)}; paused for ${(times.resumeSent - times.pauseAcked).toFixed(0)} ms`,
    );
    assert.deepEqual(Object.keys(byStatus).sort(), ["202", "403 paused"], "only 202s and paused 403s");
    const during = answers.filter((a) => a.sentAt > times.pauseAcked && a.answeredAt < times.resumeSent);
    assert.ok(during.length > 50, `${during.length} claims sent and answered while paused`);
    assert.ok(
      during.every((a) => a.status === 403 && a.body.reason === "paused"),
      "no 202 while paused",
    );
    const before = answers.filter((a) => a.answeredAt < times.pauseSent);
    const after = answers.filter((a) => a.sentAt > times.resumeAcked);
    assert.ok(before.length > 50 && before.every((a) => a.status === 202), "admitted before the pause");
    assert.ok(after.length > 50 && after.every((a) => a.status === 202), "admitted after the resume");

    // By the server's clock: no admission between the instants the pause and the resume took effect.
    const audit = (
      await adminClient.request({ method: "GET", path: "/v1/campaigns/pr/audit", headers: auth })
    ).body as { entries: { at: string; actor: string }[] };
    const [pauseAt, resumeAt] = audit.entries.map((e) => Date.parse(e.at));
    assert.equal(audit.entries[0]!.actor, "spike-test");
    const admitted = answers.filter((a) => a.status === 202);
    const inside = admitted.filter((a) => {
      const at = Date.parse(String(a.body.admittedAt));
      return at > pauseAt! && at < resumeAt!;
    });
    assert.deepEqual(inside.length, 0, "admitted while paused by the server's clock");

    // None lost: every 202 is issued, and the ledger holds exactly them.
    const quiet = await waitQuiet(adminClient, "pr");
    assert.equal(quiet.issued, admitted.length);
    assert.equal(quiet.remaining, 100_000 - admitted.length);
    await assertAllIssued(client, admitted);
  });

  test("raising stock mid-spike: exactly the new stock is issued", async (t) => {
    const { client, adminClient } = await startEmbedded(t, 200);
    await adminClient.request({
      method: "POST",
      path: "/v1/campaigns",
      headers: auth,
      body: { id: "raise", name: "Raise", stock: 300 },
    });
    const users = 3000;
    let raised: Promise<Answer> | undefined;
    let raisedAt = 0;
    const answers = await claimFlow(client, "raise", users, 150, (answer) => {
      // Raise the moment the first sold_out is seen: the spike is in full flow.
      if (answer.status === 410 && !raised) {
        raisedAt = performance.now();
        raised = adminClient.request({
          method: "PATCH",
          path: "/v1/campaigns/raise",
          headers: auth,
          body: { stock: 800 },
        });
      }
    });
    assert.ok(raised, "the spike sold out before the raise");
    const raise = await raised!;
    assert.equal(raise.status, 200);
    assert.equal(raise.body.stock, 800);
    const byStatus = countBy(answers, (a) => a.status);
    const afterRaise = answers.filter((a) => a.sentAt > raisedAt).length;
    t.diagnostic(`answers ${JSON.stringify(byStatus)}; ${afterRaise} sent after the raise`);
    assert.ok(afterRaise > 1000, "the raise came mid-spike");
    const admitted = answers.filter((a) => a.status === 202);
    assert.equal(admitted.length, 800, "exactly the new stock admitted");
    assert.equal(byStatus["410"], users - 800);
    assert.equal(new Set(admitted.map((a) => a.body.userId)).size, 800);
    // A stock below what is admitted is refused now.
    const lower = await adminClient.request({
      method: "PATCH",
      path: "/v1/campaigns/raise",
      headers: auth,
      body: { stock: 799 },
    });
    assert.deepEqual([lower.status, lower.body.admitted], [400, 800]);

    const quiet = await waitQuiet(adminClient, "raise");
    assert.deepEqual([quiet.issued, quiet.remaining, quiet.stock], [800, 0, 800]);
    await assertAllIssued(client, admitted);
  });
});
