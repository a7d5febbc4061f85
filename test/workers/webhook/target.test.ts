import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { pino } from "pino";
import type { EmbeddedRuntime } from "../../../src/runtime/embedded.ts";
import { DeliveryService } from "../../../src/services/deliveries.ts";
import { WebhookDispatcher } from "../../../src/workers/webhook/dispatcher.ts";
import { forbiddenAddress, type Resolve } from "../../../src/workers/webhook/target.ts";
import { admin, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";
import { actor } from "../../helpers/embedded-ports.ts";
import { eventually } from "../../helpers/wait.ts";
import { webhookReceiver } from "../../helpers/webhook-receiver.ts";

const SECRET = "whsec-target-test-0123456789";
const QUICK = {
  maxAttempts: 2,
  retryBaseMs: 20,
  retryMaxMs: 50,
  timeoutMs: 2000,
  concurrency: 2,
  pollMs: 20,
};

test("addresses that are not public are named, IPv4 carried in IPv6 included; public ones pass", () => {
  const refused: [string, RegExp][] = [
    ["127.0.0.1", /loopback/],
    ["127.200.0.9", /loopback/],
    ["::1", /loopback/],
    ["10.1.2.3", /private/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.168.1.1", /private/],
    ["fc00::1", /private/],
    ["fd00:ec2::254", /private/],
    ["169.254.169.254", /link-local/],
    ["fe80::1", /link-local/],
    ["0.0.0.0", /unspecified/],
    ["::", /unspecified/],
    ["100.100.100.200", /metadata/],
    ["::ffff:127.0.0.1", /loopback/],
    ["::ffff:7f00:1", /loopback/],
    ["::ffff:169.254.169.254", /link-local/],
    ["64:ff9b::a9fe:a9fe", /link-local/],
    ["2002:7f00:1::1", /loopback/],
    ["::10.0.0.1", /private/],
    ["224.0.0.1", /multicast/],
    ["255.255.255.255", /reserved/],
  ];
  for (const [address, reason] of refused)
    assert.match(forbiddenAddress(address) ?? "(public)", reason, address);
  for (const address of [
    "8.8.8.8",
    "93.184.215.14",
    "172.32.0.1",
    "11.0.0.1",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
  ])
    assert.equal(forbiddenAddress(address), undefined, address);
});

test("PUT webhook refuses URLs that resolve to loopback, private, link-local or metadata addresses (400), unless WEBHOOK_ALLOW_PRIVATE", {
  timeout: 30_000,
}, async (t) => {
  const { app } = await embeddedApp(t);
  await createCampaign(app, { id: "c", name: "C", stock: 1 });
  const put = (url: string) =>
    app.inject({ method: "PUT", url: "/v1/campaigns/c/webhook", headers: admin, payload: { url } });
  for (const url of [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://10.0.0.5/hook",
    "http://192.168.0.1/hook",
    "http://[fd00:ec2::254]/",
    "http://0.0.0.0:6379/",
    "http://2130706433/hook",
  ]) {
    const res = await put(url);
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    assert.equal(res.json().error, "invalid_request");
    assert.match(res.json().message, /not public/, url);
  }
  const nowhere = await put("https://no-such-host.invalid/hook");
  assert.equal(nowhere.statusCode, 400);
  assert.match(nowhere.json().message, /does not resolve/);
  assert.equal((await put("https://93.184.215.14/hook")).statusCode, 200, "a public address is accepted");

  const { app: open } = await embeddedApp(t, { webhook: { allowPrivate: true } });
  await createCampaign(open, { id: "c", name: "C", stock: 1 });
  const allowed = await open.inject({
    method: "PUT",
    url: "/v1/campaigns/c/webhook",
    headers: admin,
    payload: { url: "http://127.0.0.1:8080/hook" },
  });
  assert.equal(allowed.statusCode, 200, "WEBHOOK_ALLOW_PRIVATE=true lets it through");
});

/**
 * The webhook is set while its name resolves to a public address; by the
 * time it is sent, the name resolves to 127.0.0.1, where a receiver listens.
 */
async function rebinding(t: Parameters<typeof embeddedApp>[0], allowPrivate: boolean) {
  const receiver = await webhookReceiver(t, SECRET, () => "ok");
  const port = new URL(receiver.url).port;
  const { app, runtime } = await embeddedApp(t);
  await runtime.dispatcher.stop();
  await createCampaign(app, { id: "rb", name: "RB", stock: 1 });
  const atPut: Resolve = async () => [{ address: "93.184.215.14", family: 4 }];
  const atSend: Resolve = async () => [{ address: "127.0.0.1", family: 4 }];
  const deliveries = new DeliveryService({
    deliveries: runtime.ledger.deliveries,
    campaigns: runtime.api.services.campaigns,
    resolve: atPut,
  });
  await deliveries.setWebhook("rb", { url: `http://hooks.shop.test:${port}/hooks`, secret: SECRET }, actor);
  const dispatcher = new WebhookDispatcher({
    ...QUICK,
    allowPrivate,
    store: runtime.ledger.deliveries,
    logger: pino({ level: "silent" }),
    resolve: atSend,
  });
  dispatcher.start();
  t.after(() => dispatcher.stop());
  await app.inject({ method: "POST", url: "/v1/campaigns/rb/claims", payload: { userId: "u" } });
  return { receiver, runtime };
}

function deliveryRow(runtime: EmbeddedRuntime) {
  return runtime.ledger.database
    .prepare("SELECT state, last_error FROM deliveries WHERE campaign_id = 'rb'")
    .get() as { state: string; last_error: string | null } | undefined;
}

test("DNS rebinding: a name that resolves to loopback at send time is refused on the address connected to", {
  timeout: 30_000,
}, async (t) => {
  const { receiver, runtime } = await rebinding(t, false);
  await eventually(() => deliveryRow(runtime)?.state === "dead", 15_000);
  assert.match(deliveryRow(runtime)!.last_error ?? "", /^refused: .*127\.0\.0\.1.*loopback/);
  assert.equal(receiver.received.length, 0, "nothing reached the loopback receiver");
});

test("DNS rebinding control: with WEBHOOK_ALLOW_PRIVATE the same delivery reaches the receiver", {
  timeout: 30_000,
}, async (t) => {
  const { receiver, runtime } = await rebinding(t, true);
  await eventually(() => deliveryRow(runtime)?.state === "delivered", 15_000);
  assert.equal(receiver.received.length, 1);
});

test("redirects are not followed: a 3xx is a failed attempt, its Location never requested", {
  timeout: 30_000,
}, async (t) => {
  const target = await webhookReceiver(t, SECRET, () => "ok");
  const redirector = http.createServer((_req, res) => res.writeHead(307, { location: target.url }).end());
  await new Promise<void>((resolve) => redirector.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => redirector.close(() => resolve())));
  const { app, runtime } = await embeddedApp(t, { webhook: { ...QUICK, allowPrivate: true } });
  await createCampaign(app, { id: "rb", name: "RB", stock: 1 });
  const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook`;
  const set = await app.inject({
    method: "PUT",
    url: "/v1/campaigns/rb/webhook",
    headers: admin,
    payload: { url, secret: SECRET },
  });
  assert.equal(set.statusCode, 200, set.body);
  await app.inject({ method: "POST", url: "/v1/campaigns/rb/claims", payload: { userId: "u" } });
  await eventually(() => deliveryRow(runtime)?.state === "dead", 15_000);
  assert.equal(deliveryRow(runtime)!.last_error, "HTTP 307 (redirects are not followed)");
  assert.equal(target.received.length, 0);
});
