import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { admin, embeddedApp } from "../../helpers/embedded-app.ts";
import { eventually } from "../../helpers/wait.ts";

interface Opened {
  status: number;
  body: string;
  retryAfter: string | undefined;
  close: () => void;
}

/** Opens a stream over a real socket and resolves once its head arrived; `close` hangs up. */
function open(
  base: string,
  path: string,
  client: string,
  headers: Record<string, string> = {},
): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers: { "x-forwarded-for": client, ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      const answer = () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          retryAfter: res.headers["retry-after"] as string | undefined,
          close: () => req.destroy(),
        });
      if (res.statusCode === 200) answer();
      else {
        res.on("data", (d: string) => (body += d));
        res.on("end", answer);
      }
    });
    req.on("error", (error) => {
      if (!req.destroyed) reject(error);
    });
  });
}

test("event streams are capped per client address (429) and in total (503), with Retry-After; a closed one frees its slot", {
  timeout: 60_000,
}, async (t) => {
  const { app } = await embeddedApp(t, {
    app: {
      trustProxy: true,
      eventStreams: { maxPerClient: 3, maxTotal: 5 },
      dashboard: { intervalMs: 60_000 },
    },
  });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const stream = (client: string) => open(base, "/v1/admin/stream", client, admin);
  const held: Opened[] = [];
  t.after(() => {
    for (const s of held) s.close();
  });

  for (let i = 0; i < 3; i++) held.push(await stream("10.0.0.1"));
  assert.deepEqual(
    held.map((s) => s.status),
    [200, 200, 200],
  );
  const fourth = await stream("10.0.0.1");
  assert.equal(fourth.status, 429);
  assert.equal(JSON.parse(fourth.body).error, "rate_limited");
  assert.equal(fourth.retryAfter, "5");
  // The claim streams are guarded the same way, before their own checks (an unknown claim would be 404).
  const claimStream = await open(base, "/v1/claims/AAAAAAAAAAAAAAAAAAAAAA/events", "10.0.0.1");
  assert.equal(claimStream.status, 429);

  for (let i = 0; i < 2; i++) held.push(await stream("10.0.0.2"));
  const full = await stream("10.0.0.3");
  assert.equal(full.status, 503);
  assert.equal(JSON.parse(full.body).error, "unavailable");
  assert.equal(full.retryAfter, "5");

  // Hanging up gives the slot back, to that client and to the total.
  held.shift()!.close();
  let again: Opened | undefined;
  await eventually(async () => {
    again = await stream("10.0.0.3");
    if (again.status !== 200) return false;
    held.push(again);
    return true;
  }, 10_000);
  const stillFull = await stream("10.0.0.4");
  assert.equal(stillFull.status, 503);
  // Refused requests took no slot: the count is what is held.
  for (const s of held.splice(0)) s.close();
  for (let i = 0; i < 3; i++) {
    let opened: Opened | undefined;
    await eventually(async () => {
      opened = await stream("10.0.0.1");
      return opened.status === 200;
    }, 10_000);
    held.push(opened!);
  }
});
