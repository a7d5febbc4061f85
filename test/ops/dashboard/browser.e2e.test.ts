import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { ADMIN_TOKEN, admin } from "../../helpers/embedded-app.ts";
import { createClient } from "../../helpers/load.ts";
import { startServer } from "../../helpers/server-process.ts";
import { skipOrFail } from "../../helpers/services.ts";
import { tempDir } from "../../helpers/tmp.ts";

/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core
 * (scripts/test.sh installs it). It creates
 * a campaign through the form, watches the counters move as claims come in,
 * tries a claim and sees it turn issued, checks that a 375 px wide phone never
 * scrolls sideways, and saves screenshots (docs/dashboard.png when
 * UPDATE_SCREENSHOTS=1, else test-output/).
 */
// Browser globals, used only inside page.evaluate() / waitForFunction() callbacks, which run in the
// page: declared here, in this module, rather than adding the DOM library to the whole project.
interface PageNode {
  textContent: string | null;
}
declare const document: {
  documentElement: { scrollWidth: number };
  getElementById(id: string): PageNode | null;
  querySelector(selector: string): PageNode | null;
};
declare const window: { innerWidth: number };
declare const location: { search: string };

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PHONE = { width: 375, height: 812 };
const DESKTOP = { width: 1280, height: 860 };

/** Playwright gives every launch a fresh temporary profile (the notes' fresh --user-data-dir). */
async function launch(t: { after: (fn: () => Promise<void>) => void }): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  t.after(() => browser.close());
  return browser;
}

/** Fails the test on any script error or console error (a CSP violation is one). */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return errors;
}

async function noSideScroll(page: Page, what: string): Promise<void> {
  const [scrollWidth, innerWidth] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    window.innerWidth,
  ]);
  assert.ok(scrollWidth <= innerWidth, `${what}: ${scrollWidth} px wide in a ${innerWidth} px viewport`);
}

/** docs/ holds the dashboard screenshots the README and docs/operations.md show. */
function screenshotPath(name: string, forDocs = true): string {
  const dir = forDocs && process.env.UPDATE_SCREENSHOTS === "1" ? "docs" : "test-output";
  mkdirSync(`${ROOT}${dir}`, { recursive: true });
  return `${ROOT}${dir}/${name}`;
}

const skip = skipOrFail(
  existsSync(CHROMIUM)
    ? undefined
    : `no Chromium at ${CHROMIUM}: apt-get install -y chromium (scripts/test.sh does it)`,
);

test("dashboard in Chromium: create, watch counters move, claim turns issued, fits 375 px", {
  skip,
}, async (t) => {
  const server = await startServer("start", { DATA_DIR: tempDir(t), ADMIN_TOKEN }, { timeoutMs: 60_000 });
  t.after(async () => {
    await server.stop("SIGTERM");
  });
  const api = createClient(server.url, 50);
  t.after(() => api.close());
  const claim = (campaign: string, user: string) =>
    api.request({ method: "POST", path: `/v1/campaigns/${campaign}/claims`, body: { userId: user } });

  const browser = await launch(t);
  const page = await browser.newPage({ viewport: PHONE });
  const errors = watchErrors(page);

  // Connect with the admin token.
  await page.goto(`${server.url}/`);
  await page.fill("#token", ADMIN_TOKEN);
  await page.click("#connect-form button[type=submit]");
  await page.waitForSelector('#live[data-state="live"]');
  assert.equal(await page.evaluate(() => location.search), "", "the token never goes in the URL");

  // Create a campaign through the form.
  await page.fill("#create-form input[name=name]", "Browser drop");
  await page.fill("#create-form input[name=stock]", "5");
  await page.fill("#create-form input[name=id]", "browser-drop");
  await page.click("#create-form button[type=submit]");
  await page.waitForFunction(
    () => document.getElementById("create-result")?.textContent === "created browser-drop",
  );
  const card = '#campaigns li[data-campaign="browser-drop"]';
  await page.waitForSelector(card);
  assert.equal(await page.textContent(`${card} .remaining`), "5");

  // Claims arrive: the counters move without a reload (pushed over the stream).
  for (const user of ["u1", "u2", "u3"]) assert.equal((await claim("browser-drop", user)).status, 202);
  await page.waitForFunction((sel) => document.querySelector(`${sel} .issued`)?.textContent === "3", card, {
    timeout: 15_000,
  });
  assert.equal(await page.textContent(`${card} .remaining`), "2");
  assert.equal(await page.textContent(`${card} .pending`), "0");
  await noSideScroll(page, "dashboard at 375 px");

  // Try a claim as a shopper: 202 pending, then issued with a coupon, over SSE.
  await page.click(`${card} a`);
  await page.waitForURL(/\/claim\?campaign=browser-drop$/);
  const claimErrors = watchErrors(page);
  assert.equal(await page.inputValue("#claim-form input[name=campaign]"), "browser-drop");
  await page.fill("#claim-form input[name=user]", "browser-user");
  await page.click("#claim-form button[type=submit]");
  await page.waitForSelector('#status[data-status="issued"]', { timeout: 15_000 });
  const timeline = await page.locator("#timeline li").allTextContents();
  const pendingAt = timeline.findIndex((line) => /202 admitted: pending/.test(line));
  const issuedAt = timeline.findIndex((line) => /issued: coupon/.test(line));
  assert.ok(pendingAt >= 0 && issuedAt > pendingAt, `pending, then issued: ${JSON.stringify(timeline)}`);
  assert.match((await page.textContent("#coupon")) ?? "", /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
  await page.waitForFunction(() =>
    /1 of 5 left/.test(document.getElementById("campaign-line")?.textContent ?? ""),
  );
  await noSideScroll(page, "claim page at 375 px");
  await page.screenshot({ path: screenshotPath("claim-375.png", false), fullPage: true });

  // Back on the dashboard (token still in this tab's session): a burst shows in the rate and the chart.
  const created = await api.request({
    method: "POST",
    path: "/v1/campaigns",
    headers: admin,
    body: { id: "summer-drop", name: "Summer drop", stock: 5000 },
  });
  assert.equal(created.status, 201);
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#live[data-state="live"]');
  // Steady traffic until the screenshots are taken.
  let user = 0;
  let traffic = true;
  const load = (async () => {
    while (traffic) {
      await Promise.all(Array.from({ length: 40 }, () => claim("summer-drop", `s${user++}`)));
      await sleep(250);
    }
  })();
  await page.waitForFunction(
    () => Number(document.getElementById("tile-admitted")?.textContent?.replace(/,/g, "")) > 0,
    undefined,
    { timeout: 15_000 },
  );
  await page.waitForTimeout(3000);
  const chart = await page.getAttribute("#chart-rate path", "d");
  assert.match(chart ?? "", /^M[\d.]+,[\d.]+L/, "the admissions chart has a line");
  await noSideScroll(page, "dashboard with data at 375 px");
  await page.screenshot({ path: screenshotPath("dashboard-375.png"), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: screenshotPath("dashboard.png") });
  traffic = false;
  await load;
  await page.waitForFunction(
    (n) => document.querySelector('#campaigns li[data-campaign="summer-drop"] .issued')?.textContent === n,
    new Intl.NumberFormat("en").format(user),
    { timeout: 15_000 },
  );
  assert.ok(existsSync(screenshotPath("dashboard.png")));
  assert.deepEqual([...errors, ...claimErrors], [], "no script or console error (CSP included)");
});
