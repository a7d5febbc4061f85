import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { BenchApiError, createCampaign } from "./api.ts";
import { serveCeiling } from "./ceiling/serve-ceiling.ts";
import type { FireOptions, FireResult } from "./generator/fire.ts";
import { userId } from "./generator/plan.ts";
import { type Generator, startGenerator } from "./generator/spawn.ts";
import { type ClaimRead, checkInvariants, type DatabaseFacts, type InvariantResult } from "./invariants.ts";
import { filesNeeded } from "./limits.ts";
import { type BenchOptions, benchHelp, parseBenchArgs, UsageError } from "./options.ts";
import { databaseFacts } from "./postgres.ts";
import { progressBar } from "./progress.ts";
import { buildReport } from "./report/build.ts";
import { htmlReport } from "./report/html.ts";
import type { BenchReport } from "./report/report.ts";
import { textReport } from "./report/text.ts";
import { CounterSampler } from "./sampler.ts";
import { type StampedeProcess, startStampede } from "./stampede-process.ts";
import { readClaims, readUserClaims } from "./verify.ts";

/**
 * `stampede bench`: create a campaign, fire the spike from a generator
 * process, sample the counters meanwhile, wait until every admitted claim is
 * issued, read the claims back, judge invariants 1-5, report. Exit status 0
 * when every invariant held, 1 when one failed (or the run could not be
 * done), 2 for a bad flag.
 */
export async function bench(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`stampede bench: ${error.message} (try stampede bench --help)\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(benchHelp());
    return 0;
  }
  if (options.serveCeiling) return serveCeiling();
  try {
    const report = await run(options, argv.includes("--target"));
    if (options.out) await writeFile(options.out, htmlReport(report));
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : textReport(report));
    if (options.out && !options.json) process.stdout.write(`report page: ${options.out}\n`);
    return report.pass ? 0 : 1;
  } catch (error) {
    if (error instanceof BenchApiError) {
      process.stderr.write(`stampede bench: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function run(options: BenchOptions, targetGiven: boolean): Promise<BenchReport> {
  const requests = options.users + Math.round(options.users * options.duplicates);
  const connections = Math.min(requests, options.concurrency);
  let ceiling: StampedeProcess | undefined;
  let generator: Generator | undefined;
  try {
    let targets = options.targets;
    if (options.ceiling && !targetGiven) {
      // A process of its own: a server sharing this event loop would measure nothing.
      ceiling = await startStampede({
        name: "stampede-ceiling",
        args: ["bench", "--serve-ceiling"],
        openFiles: filesNeeded(connections),
        startTimeoutMs: 20_000,
        stopTimeoutMs: 5000,
      });
      targets = [ceiling.url!];
    }
    generator = await startGenerator(filesNeeded(connections));
    if (!generator.limit.ok) process.stderr.write(`stampede bench: ${generator.limit.message}\n`);
    return options.ceiling
      ? await runCeiling(options, targets, generator)
      : await runSystem(options, targets, generator);
  } finally {
    await generator?.close();
    await ceiling?.stop();
  }
}

function fireOptions(options: BenchOptions, targets: string[], claimPath: string): FireOptions {
  return {
    targets,
    claimPath,
    users: options.users,
    duplicates: options.duplicates,
    seed: options.seed,
    userIdLength: options.userIdLength,
    idempotencyKeys: options.idempotencyKeys,
    concurrency: options.concurrency,
    rate: options.rate,
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    maxRetryWaitMs: options.maxRetryWaitMs,
  };
}

async function fireWithProgress(
  generator: Generator,
  fire: FireOptions,
  options: BenchOptions,
  label: string,
) {
  const total = fire.users + Math.round(fire.users * fire.duplicates);
  const bar = progressBar(label, total, options.progress && !options.json);
  try {
    return await generator.fire(fire, (done) => bar.update(done));
  } finally {
    bar.finish();
  }
}

/** Fires `options.warmup` claims that are not measured (a fresh process runs cold JIT code). */
async function warmUp(options: BenchOptions, targets: string[], generator: Generator, claimPath: string) {
  if (options.warmup === 0) return;
  await generator.fire({
    ...fireOptions(options, targets, claimPath),
    users: options.warmup,
    duplicates: 0,
    concurrency: Math.min(100, options.warmup),
    rate: undefined,
  });
}

async function runCeiling(
  options: BenchOptions,
  targets: string[],
  generator: Generator,
): Promise<BenchReport> {
  await warmUp(options, targets, generator, "/v1/campaigns/warmup/claims");
  const fired = await fireWithProgress(
    generator,
    fireOptions(options, targets, "/v1/campaigns/ceiling/claims"),
    options,
    "ceiling",
  );
  return buildReport({
    kind: "ceiling",
    options,
    targets,
    limit: generator.limit,
    fired,
    samples: [],
    invariants: [],
    notes: [],
  });
}

async function runSystem(
  options: BenchOptions,
  targets: string[],
  generator: Generator,
): Promise<BenchReport> {
  const notes: string[] = [];
  const campaignId =
    options.campaignId ?? `bench-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  await createCampaign(targets[0]!, options.adminToken, {
    id: campaignId,
    name: `stampede bench ${new Date().toISOString()}`,
    stock: options.stock,
    perUserLimit: options.perUserLimit,
    // Only when asked: a server from before shards refuses the unknown field.
    ...(options.shards > 1 ? { shards: options.shards } : {}),
  });
  if (options.warmup > 0) {
    const warmupId = `${campaignId.slice(0, 56)}-warmup`;
    await createCampaign(targets[0]!, options.adminToken, {
      id: warmupId,
      name: "stampede bench warm-up",
      stock: options.warmup,
      perUserLimit: 1,
    });
    await warmUp(options, targets, generator, `/v1/campaigns/${encodeURIComponent(warmupId)}/claims`);
  }
  const claimPath = `/v1/campaigns/${encodeURIComponent(campaignId)}/claims`;
  const sampler = new CounterSampler(targets, campaignId, options.sampleIntervalMs);
  sampler.start();
  let fired: FireResult;
  try {
    fired = await fireWithProgress(generator, fireOptions(options, targets, claimPath), options, "firing");
  } finally {
    await sampler.stop();
  }
  const { view, quietAt } = await sampler.settle(options.settleTimeoutMs);
  if (sampler.errors.length) notes.push(`counter reads failed: ${sampler.errors.slice(0, 3).join("; ")}`);

  const userIdOf = (index: number) => userId(index, options.userIdLength);
  const claimIds = new Set<string>();
  for (let i = 0; i < fired.status.length; i++) {
    const id = fired.claimId[i];
    if (id) claimIds.add(id);
  }
  const claims: Map<string, ClaimRead> = await readClaims(
    generator,
    targets,
    [...claimIds],
    options.timeoutMs,
  );

  let userClaims = new Map<number, string[]>();
  const resent = usersWhoResent(fired, options.verifyUsers);
  if (resent.length > 0) {
    if (options.adminToken) {
      const read = await readUserClaims(
        generator,
        targets,
        campaignId,
        options.adminToken,
        resent,
        userIdOf,
        options.timeoutMs,
      );
      userClaims = read.lists;
      if (read.failed) notes.push(`${read.failed} users' claim lists could not be read`);
    } else notes.push("no admin token: users' claim lists were not read back");
  }

  let database: DatabaseFacts | undefined;
  let databaseCheck: InvariantResult | undefined;
  if (options.databaseUrl) {
    try {
      database = await databaseFacts(
        options.databaseUrl,
        options.databaseSchema,
        campaignId,
        options.perUserLimit,
      );
    } catch (error) {
      // Asked for and not done: the run cannot claim the ledger was checked.
      databaseCheck = {
        id: 6,
        name: "PostgreSQL ledger checked",
        pass: false,
        evidence: [],
        failures: [`could not read the ledger: ${(error as Error).message}`],
      };
    }
  }

  const invariants = checkInvariants({
    stock: options.stock,
    perUserLimit: options.perUserLimit,
    answerBoundMs: options.answerBoundMs,
    userIdOf,
    user: fired.user,
    status: fired.status,
    claimId: fired.claimId,
    latencyMs: fired.latencyMs,
    connectionErrors: fired.errors,
    samples: sampler.samples,
    final: view && { issued: view.issued, pending: view.pending, remaining: view.remaining },
    quiet: quietAt !== undefined,
    claims,
    userClaims,
    database,
  });
  if (databaseCheck) invariants.push(databaseCheck);
  const unexpected = Object.keys(countStatuses(fired)).filter(
    (s) => !["0", "202", "409", "410", "429", "503"].includes(s),
  );
  if (unexpected.length) notes.push(`unexpected answers: ${unexpected.join(", ")} (see the answers table)`);
  const admitted202 = fired.status.reduce((n, s) => n + (s === 202 ? 1 : 0), 0);
  if (view && view.issued > admitted202 && options.perUserLimit === 1 && !options.idempotencyKeys)
    notes.push(
      `${view.issued - admitted202} claims were admitted whose 202 the generator did not receive (timeouts or resets)`,
    );
  return buildReport({
    kind: "stampede",
    options,
    targets,
    campaignId,
    limit: generator.limit,
    fired,
    samples: sampler.samples,
    final: view && { issued: view.issued, pending: view.pending, remaining: view.remaining },
    quietAt,
    claims,
    invariants,
    notes,
  });
}

function countStatuses(fired: FireResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of fired.status) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/** Users who sent more than once and were named a claim, at most `limit` of them. */
function usersWhoResent(fired: FireResult, limit: number): number[] {
  const seen = new Map<number, number>();
  for (let i = 0; i < fired.user.length; i++) {
    const u = fired.user[i]!;
    seen.set(u, (seen.get(u) ?? 0) + 1);
  }
  const chosen = new Set<number>();
  for (let i = 0; i < fired.user.length && chosen.size < limit; i++) {
    const u = fired.user[i]!;
    if (seen.get(u)! > 1 && (fired.status[i] === 202 || fired.status[i] === 409)) chosen.add(u);
  }
  return [...chosen];
}
