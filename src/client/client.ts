import { ServerClock } from "./clock.ts";
import {
  type Answer,
  type ApiRequest,
  type CallOptions,
  newIdempotencyKey,
  segment,
  type TokenSource,
  Transport,
} from "./http.ts";
import type {
  Campaign,
  Claim,
  ClaimResult,
  ClaimStatus,
  Draw,
  HoldResult,
  JoinResult,
  Ticket,
} from "./types.ts";
import { type WatchOptions, watchStream } from "./watch.ts";

export interface ClientOptions {
  /** Where stampede answers, e.g. "https://drops.example.com"; "" (the default) is this page's origin. */
  baseUrl?: string;
  /**
   * Sent as `Authorization: Bearer`: the user's token when the server runs with
   * USER_TOKEN_SECRET, or the admin token for a shop's backend. A function is
   * asked before every request.
   */
  token?: TokenSource;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** How long one call may take, retries and waits included (default 30 s). */
  deadlineMs?: number;
  /** How long one attempt may wait for its answer (default 15 s; the server answers within 10 s). */
  attemptTimeoutMs?: number;
}

export interface ClaimOptions extends CallOptions {
  /** Defaults to a fresh random key, sent unchanged on every retry of this call. */
  idempotencyKey?: string;
}

const CLAIM_STATUSES = new Set<string>(["pending", "issued", "held", "expired", "released"]);
const FINAL_CLAIM = new Set<string>(["issued", "expired", "released"]);
const FINAL_TICKET = new Set<string>(["admitted", "sold_out"]);

const isClaim = (value: unknown): value is Claim =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as Claim).claimId === "string" &&
  CLAIM_STATUSES.has((value as Claim).status);

const isTicket = (value: unknown): value is Ticket =>
  typeof value === "object" && value !== null && typeof (value as Ticket).ticketId === "string";

/**
 * A small client of stampede's HTTP API (docs/api.md), for browsers and Node:
 * fetch, Web Crypto and nothing else.
 *
 * Calls that change something (claim, confirm, release, joinQueue) resolve to
 * a result, `{ok: true, ...}` or `{ok: false, error}`: a sold-out campaign is
 * an everyday answer, not an exception. Reads resolve to the body and reject
 * with a StampedeClientError. Every call retries what is retryable (429 and
 * 503 after their Retry-After, no answer after a backoff) until its deadline.
 */
export class StampedeClient {
  readonly #transport: Transport;
  /** The server's clock, from the campaign reads: `clock.msUntil(campaign.startsAt)` for a countdown. */
  readonly clock = new ServerClock();

  constructor(options: ClientOptions = {}) {
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#transport = new Transport({
      baseUrl: options.baseUrl ?? "",
      fetch: fetchImpl,
      token: options.token,
      deadlineMs: options.deadlineMs ?? 30_000,
      attemptTimeoutMs: options.attemptTimeoutMs ?? 15_000,
    });
  }

  /**
   * Claims one unit for `userId`. One Idempotency-Key is generated per call and
   * sent on every retry, so a claim whose answer was lost (a dropped
   * connection, a server restart) is answered again and never made twice.
   * A 409 already_claimed resolves `ok: true` with the claim the user holds.
   */
  async claim(campaignId: string, userId: string, options: ClaimOptions = {}): Promise<ClaimResult> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    const answer = await this.#transport.call(
      {
        method: "POST",
        path: `/v1/campaigns/${segment(campaignId)}/claims`,
        body: { userId },
        headers: { "idempotency-key": key },
      },
      options,
    );
    if (answer.ok) {
      const claim = answer.body as Claim;
      return { ok: true, outcome: "admitted", claimId: claim.claimId, claim };
    }
    const { error } = answer;
    if (error.code === "already_claimed" && typeof error.body.claimId === "string")
      return {
        ok: true,
        outcome: "already_claimed",
        claimId: error.body.claimId,
        status: error.body.status as ClaimStatus,
      };
    return { ok: false, error };
  }

  /** The campaign with its live counters; records the server's clock (`clock`). */
  async getCampaign(campaignId: string, options: CallOptions = {}): Promise<Campaign> {
    const answer = await this.#transport.call(
      { method: "GET", path: `/v1/campaigns/${segment(campaignId)}` },
      options,
    );
    const campaign = body<Campaign>(answer);
    if (answer.ok) this.clock.sample(campaign.serverTime, answer.sentAt, answer.receivedAt);
    return campaign;
  }

  async getClaim(claimId: string, options: CallOptions = {}): Promise<Claim> {
    return body(
      await this.#transport.call({ method: "GET", path: `/v1/claims/${segment(claimId)}` }, options),
    );
  }

  /** A user's claims in a campaign (the admin token, or that user's token). */
  async userClaims(campaignId: string, userId: string, options: CallOptions = {}): Promise<Claim[]> {
    const path = `/v1/campaigns/${segment(campaignId)}/users/${segment(userId)}/claims`;
    return body<{ claims: Claim[] }>(await this.#transport.call({ method: "GET", path }, options)).claims;
  }

  /**
   * The claim's states as they change: the current one at once, then each
   * change, ending after `issued` (or `expired`, `released` for holds).
   * Reconnects when the connection drops: `for await (const c of client.watch(id))`.
   */
  watch(claimId: string, options: WatchOptions = {}): AsyncGenerator<Claim, void, undefined> {
    return watchStream(
      this.#transport,
      {
        path: `/v1/claims/${segment(claimId)}/events`,
        isValue: isClaim,
        isFinal: (claim) => FINAL_CLAIM.has(claim.status),
      },
      options,
    );
  }

  /** Holds: confirms a held claim (the admin token, or the user's). `hold_expired` when too late. */
  async confirm(claimId: string, options: CallOptions = {}): Promise<HoldResult> {
    return holdResult(
      await this.#transport.call({ method: "POST", path: `/v1/claims/${segment(claimId)}/confirm` }, options),
    );
  }

  /** Holds: gives a held claim's unit back. `already_confirmed` for an issued claim. */
  async release(claimId: string, options: CallOptions = {}): Promise<HoldResult> {
    return holdResult(
      await this.#transport.call({ method: "POST", path: `/v1/claims/${segment(claimId)}/release` }, options),
    );
  }

  /** Waiting room: takes (or finds again: `created: false`) the user's ticket. */
  async joinQueue(campaignId: string, userId: string, options: CallOptions = {}): Promise<JoinResult> {
    const answer = await this.#transport.call(
      { method: "POST", path: `/v1/campaigns/${segment(campaignId)}/queue`, body: { userId } },
      options,
    );
    if (!answer.ok) return { ok: false, error: answer.error };
    return { ok: true, ticket: answer.body as Ticket, created: answer.status === 202 };
  }

  async getTicket(campaignId: string, ticketId: string, options: CallOptions = {}): Promise<Ticket> {
    const path = `/v1/campaigns/${segment(campaignId)}/queue/${segment(ticketId)}`;
    return body(await this.#transport.call({ method: "GET", path }, options));
  }

  /** Waiting room: the ticket's place in line as it moves, ending at `admitted` (with its claimId) or `sold_out`. */
  watchTicket(
    campaignId: string,
    ticketId: string,
    options: WatchOptions = {},
  ): AsyncGenerator<Ticket, void, undefined> {
    return watchStream(
      this.#transport,
      {
        path: `/v1/campaigns/${segment(campaignId)}/queue/${segment(ticketId)}/events`,
        isValue: isTicket,
        isFinal: (ticket) => FINAL_TICKET.has(ticket.status),
      },
      options,
    );
  }

  /** Waiting room: the draw, public after startsAt; check it with verifyDraw(). */
  async draw(campaignId: string, options: CallOptions = {}): Promise<Draw> {
    return body(
      await this.#transport.call(
        { method: "GET", path: `/v1/campaigns/${segment(campaignId)}/draw` },
        options,
      ),
    );
  }

  /** Any other route, with the same token, retries and errors (e.g. admin routes). */
  async request<T>(request: ApiRequest, options: CallOptions = {}): Promise<T> {
    return body(await this.#transport.call(request, options));
  }
}

function body<T>(answer: Answer): T {
  if (!answer.ok) throw answer.error;
  return answer.body as T;
}

function holdResult(answer: Answer): HoldResult {
  return answer.ok ? { ok: true, claim: answer.body as Claim } : { ok: false, error: answer.error };
}
