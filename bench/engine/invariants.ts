/**
 * SPEC invariants 1-5, judged from what the run saw: every answer of the
 * firing phase, the counters sampled during and after it, every claim named
 * by a 202 or 409 read back through the API, a sample of users' claim lists,
 * and (optionally) the PostgreSQL ledger's rows. Each result lists what was
 * checked (evidence) and what broke (failures); a result passes when nothing
 * broke.
 */

import type { Sample } from "./sampler.ts";

export interface ClaimRead {
  /** HTTP status of GET /v1/claims/:id (0 = no answer). */
  http: number;
  userId?: string;
  status?: string;
  couponCode?: string;
  admittedAt?: number;
  issuedAt?: number;
}

export interface DatabaseFacts {
  rows: number;
  usersOverLimit: number;
  duplicateUnits: number;
  maxUnit: number;
  /** claimId -> coupon code of every row of the campaign. */
  coupons: Map<string, string>;
}

export interface InvariantInput {
  stock: number;
  perUserLimit: number;
  answerBoundMs: number;
  userIdOf: (index: number) => string;
  /** Per request: user index, final HTTP status (0 = none), the claim it names, latency. */
  user: ArrayLike<number>;
  status: ArrayLike<number>;
  claimId: ArrayLike<string | null>;
  latencyMs: ArrayLike<number>;
  connectionErrors: Record<string, number>;
  samples: Sample[];
  /** Counters once quiet (undefined when they could not be read). */
  final: { issued: number; pending: number; remaining: number } | undefined;
  quiet: boolean;
  claims: Map<string, ClaimRead>;
  /** Users whose claim list was read through the admin route: user index -> claim ids listed. */
  userClaims: Map<number, string[]>;
  database?: DatabaseFacts | undefined;
}

export interface InvariantResult {
  id: number;
  name: string;
  pass: boolean;
  evidence: string[];
  failures: string[];
}

const fmt = (n: number) => n.toLocaleString("en-US");
const MAX_LISTED = 5;

/** Adds a failure, listing at most a few examples of the same kind. */
function fail(list: string[], count: number, what: string, examples: string[]): void {
  if (count === 0) return;
  const shown = examples.slice(0, MAX_LISTED).join(", ");
  list.push(`${fmt(count)} ${what}${shown ? ` (e.g. ${shown})` : ""}`);
}

export function checkInvariants(input: InvariantInput): InvariantResult[] {
  const n = input.status.length;
  const admitted = new Map<string, number>(); // claimId -> user index (from 202s)
  const claimsOfUser = new Map<number, Set<string>>();
  const claimSet = (user: number): Set<string> => {
    let set = claimsOfUser.get(user);
    if (!set) {
      set = new Set();
      claimsOfUser.set(user, set);
    }
    return set;
  };
  const answeredUsers = new Set<number>();
  let soldOut = 0;
  for (let i = 0; i < n; i++) {
    const s = input.status[i]!;
    const user = input.user[i]!;
    if (s === 202 || s === 409 || s === 410) answeredUsers.add(user);
    if (s === 410) soldOut++;
    const id = input.claimId[i];
    if ((s === 202 || s === 409) && id) {
      if (s === 202) admitted.set(id, user);
      claimSet(user).add(id);
    }
  }
  for (const [user, ids] of input.userClaims) {
    const set = claimSet(user);
    for (const id of ids) set.add(id);
  }
  return [
    neverOverIssued(input, admitted),
    neverTwice(input, claimsOfUser),
    nothingLost(input, admitted),
    noLostSales(input, answeredUsers, soldOut),
    everyRequestAnswered(input),
  ];
}

function neverOverIssued(input: InvariantInput, admitted: Map<string, number>): InvariantResult {
  const failures: string[] = [];
  const bad = input.samples.filter((s) => s.remaining < 0 || s.issued + s.pending > input.stock);
  fail(
    failures,
    bad.length,
    "counter reads over the stock",
    bad.map((s) => `remaining ${s.remaining}, issued+pending ${s.issued + s.pending}`),
  );
  if (admitted.size > input.stock)
    failures.push(
      `${fmt(admitted.size)} distinct claims were answered 202 for a stock of ${fmt(input.stock)}`,
    );
  if (input.final && input.final.issued > input.stock)
    failures.push(`issued ${fmt(input.final.issued)} > stock ${fmt(input.stock)}`);
  const evidence = [
    `${fmt(input.samples.length)} counter reads, lowest remaining ${
      input.samples.length ? fmt(Math.min(...input.samples.map((s) => s.remaining))) : "n/a"
    }`,
    `${fmt(admitted.size)} distinct claims answered 202 for a stock of ${fmt(input.stock)}`,
  ];
  const db = input.database;
  if (db) {
    evidence.push(`ledger: ${fmt(db.rows)} rows, highest unit ${fmt(db.maxUnit)}`);
    if (db.rows > input.stock)
      failures.push(`ledger holds ${fmt(db.rows)} rows for a stock of ${fmt(input.stock)}`);
    if (db.duplicateUnits > 0) failures.push(`ledger: ${fmt(db.duplicateUnits)} units held twice`);
    if (db.maxUnit > input.stock) failures.push(`ledger: unit ${fmt(db.maxUnit)} beyond the stock`);
  }
  return { id: 1, name: "never over-issued", pass: failures.length === 0, evidence, failures };
}

function neverTwice(input: InvariantInput, claimsOfUser: Map<number, Set<string>>): InvariantResult {
  const failures: string[] = [];
  const over: string[] = [];
  let overCount = 0;
  for (const [user, ids] of claimsOfUser) {
    if (ids.size > input.perUserLimit) {
      overCount++;
      over.push(`${input.userIdOf(user)}: ${ids.size}`);
    }
  }
  fail(failures, overCount, `users hold more than ${input.perUserLimit} claim(s)`, over);
  // A claim named to user A must belong to user A.
  const foreign: string[] = [];
  let foreignCount = 0;
  for (const [user, ids] of claimsOfUser) {
    for (const id of ids) {
      const read = input.claims.get(id);
      if (read?.userId !== undefined && read.userId !== input.userIdOf(user)) {
        foreignCount++;
        foreign.push(`${id} named to ${input.userIdOf(user)}, belongs to ${read.userId}`);
      }
    }
  }
  fail(failures, foreignCount, "answers named another user's claim", foreign);
  const evidence = [
    `${fmt(claimsOfUser.size)} users named a claim (202/409), ${fmt(input.userClaims.size)} users' claim lists read back`,
  ];
  if (input.database) {
    evidence.push(`ledger: ${fmt(input.database.usersOverLimit)} users over the limit`);
    if (input.database.usersOverLimit > 0)
      failures.push(
        `ledger: ${fmt(input.database.usersOverLimit)} users hold more than ${input.perUserLimit} rows`,
      );
  }
  return { id: 2, name: "never twice", pass: failures.length === 0, evidence, failures };
}

function nothingLost(input: InvariantInput, admitted: Map<string, number>): InvariantResult {
  const failures: string[] = [];
  const notIssued: string[] = [];
  let notIssuedCount = 0;
  for (const id of admitted.keys()) {
    const read = input.claims.get(id);
    if (read?.http !== 200 || read.status !== "issued" || !read.couponCode) {
      notIssuedCount++;
      notIssued.push(`${id}: ${read ? `${read.http} ${read.status ?? ""}` : "not read"}`);
    }
  }
  fail(failures, notIssuedCount, "claims answered 202 are not issued with a coupon code", notIssued);
  if (!input.quiet)
    failures.push(`pending did not reach 0 (last read: ${input.final ? fmt(input.final.pending) : "none"})`);
  if (input.final && input.final.issued < admitted.size)
    failures.push(`issued ${fmt(input.final.issued)} < ${fmt(admitted.size)} claims answered 202`);
  const evidence = [
    `${fmt(admitted.size)} claims answered 202, ${fmt(admitted.size - notIssuedCount)} read back issued with a coupon code`,
    `once quiet: issued ${input.final ? fmt(input.final.issued) : "?"}, pending ${input.final ? fmt(input.final.pending) : "?"}`,
  ];
  const db = input.database;
  if (db) {
    const missing: string[] = [];
    let missingCount = 0;
    let mismatch = 0;
    for (const id of admitted.keys()) {
      const coupon = db.coupons.get(id);
      if (coupon === undefined) {
        missingCount++;
        missing.push(id);
      } else if (coupon !== input.claims.get(id)?.couponCode) mismatch++;
    }
    fail(failures, missingCount, "claims answered 202 have no ledger row", missing);
    if (mismatch > 0) failures.push(`${fmt(mismatch)} ledger coupon codes differ from the API's`);
    evidence.push(
      `ledger: ${fmt(admitted.size - missingCount)} of the 202s have a row, ${fmt(mismatch)} coupon mismatches`,
    );
  }
  return { id: 3, name: "nothing admitted is lost", pass: failures.length === 0, evidence, failures };
}

function noLostSales(input: InvariantInput, answeredUsers: Set<number>, soldOut: number): InvariantResult {
  const failures: string[] = [];
  const evidence = [
    `${fmt(answeredUsers.size)} distinct users answered 202/409/410, ${fmt(soldOut)} answers 410`,
  ];
  if (input.final) {
    const issued = input.final.issued;
    if (soldOut > 0 && issued < input.stock)
      failures.push(`${fmt(soldOut)} answers 410 but only ${fmt(issued)} of ${fmt(input.stock)} issued`);
    if (input.perUserLimit === 1) {
      const expected = Math.min(input.stock, answeredUsers.size);
      evidence.push(`issued ${fmt(issued)}, expected min(stock, users answered) = ${fmt(expected)}`);
      if (issued !== expected)
        failures.push(`issued ${fmt(issued)} != min(stock, users answered) = ${fmt(expected)}`);
    } else evidence.push(`issued ${fmt(issued)} (perUserLimit > 1: only "a 410 means sold out" is checked)`);
  } else failures.push("the final counters could not be read");
  return { id: 4, name: "no lost sales", pass: failures.length === 0, evidence, failures };
}

function everyRequestAnswered(input: InvariantInput): InvariantResult {
  const failures: string[] = [];
  let noAnswer = 0;
  let serverErrors = 0;
  let unavailable = 0;
  let slow = 0;
  let slowest = 0;
  for (let i = 0; i < input.status.length; i++) {
    const s = input.status[i]!;
    if (s === 0) noAnswer++;
    else {
      if (s >= 500 && s !== 503) serverErrors++;
      if (s === 503) unavailable++;
      const ms = input.latencyMs[i]!;
      if (ms > input.answerBoundMs) slow++;
      if (ms > slowest) slowest = ms;
    }
  }
  const errors = Object.entries(input.connectionErrors).map(([code, count]) => `${code} ${fmt(count)}`);
  fail(failures, noAnswer, "requests got no answer", errors);
  fail(failures, serverErrors, "answers were a 5xx other than 503", []);
  fail(failures, slow, `answers took longer than ${fmt(input.answerBoundMs)} ms`, [
    `slowest ${Math.round(slowest)} ms`,
  ]);
  const evidence = [
    `${fmt(input.status.length - noAnswer)} of ${fmt(input.status.length)} requests answered, slowest ${fmt(Math.round(slowest))} ms`,
    `${fmt(unavailable)} final answers 503 (allowed by the contract, after Retry-After retries)`,
  ];
  return { id: 5, name: "every request is answered", pass: failures.length === 0, evidence, failures };
}
