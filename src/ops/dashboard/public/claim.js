import { api, el, fmt } from "./common.js";

const $ = (id) => document.getElementById(id);
const form = $("claim-form");
let events;

const params = new URLSearchParams(location.search);
form.campaign.value = params.get("campaign") ?? "";
form.user.value = `web-${crypto.randomUUID().slice(0, 8)}`;

function log(text, status) {
  const time = new Date().toLocaleTimeString("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    fractionalSecondDigits: 3,
    hour12: false,
  });
  const item = el("li", { "data-status": status ?? "info" });
  item.append(el("time", {}, time), " ", text);
  $("timeline").append(item);
}

function setStatus(status) {
  const badge = $("status");
  badge.dataset.status = status;
  badge.textContent = status;
}

async function showCampaign(id) {
  const res = await api(`/v1/campaigns/${encodeURIComponent(id)}`);
  $("campaign-line").textContent =
    res.status === 200
      ? `${res.data.name}: ${fmt.format(res.data.remaining)} of ${fmt.format(res.data.stock)} left`
      : "";
}

/**
 * Watches the claim over SSE (EventSource reconnects by itself) until it is
 * final: issued, or for a hold expired or released.
 */
function watch(claimId) {
  events?.close();
  events = new EventSource(`/v1/claims/${encodeURIComponent(claimId)}/events`);
  events.addEventListener("status", (message) => {
    const claim = JSON.parse(message.data);
    if (claim.status === "issued") {
      events.close();
      setStatus("issued");
      $("coupon").textContent = claim.couponCode;
      log(`issued: coupon ${claim.couponCode}`, "issued");
      showCampaign(claim.campaignId);
    } else if (claim.status === "expired" || claim.status === "released") {
      events.close();
      setStatus(claim.status);
      log(`${claim.status}: the unit is back in the stock`, claim.status);
      showCampaign(claim.campaignId);
    } else if (claim.status === "held") {
      setStatus("held");
      log(`held until ${new Date(claim.expiresAt).toLocaleTimeString()}: confirm it, or lose it`, "held");
    } else {
      log("event stream: still pending", "pending");
    }
  });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  events?.close();
  const campaign = form.campaign.value.trim();
  const userId = form.user.value.trim();
  $("timeline").replaceChildren();
  $("coupon").textContent = "–";
  setStatus("asking");
  log(`POST claim for ${userId}`);
  const res = await api(`/v1/campaigns/${encodeURIComponent(campaign)}/claims`, {
    method: "POST",
    body: { userId },
    // A real client sends one key per attempt, so a retry cannot claim twice.
    headers: { "idempotency-key": crypto.randomUUID() },
  });
  if (res.status === 202) {
    setStatus("pending");
    log(`202 admitted: pending (claim ${res.data.claimId})`, "pending");
    watch(res.data.claimId);
  } else if (res.status === 409 && res.data.claimId) {
    setStatus(res.data.status);
    log(`409 already claimed: ${res.data.status} (claim ${res.data.claimId})`, res.data.status);
    watch(res.data.claimId);
  } else {
    setStatus("refused");
    log(`${res.status} ${res.data.error ?? ""}: ${res.data.message ?? ""}`, "refused");
  }
  showCampaign(campaign);
});

if (form.campaign.value) showCampaign(form.campaign.value);
