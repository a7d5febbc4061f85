/**
 * `stampede verify-draw <base-url> <campaign> [--user <userId>] [--ticket <ticketId>] [--token <token>]`:
 * checks a waiting room's draw from the outside, as anyone can (docs/api.md
 * "The draw"), with nothing but the public routes and the client library's
 * checks (src/client/draw.ts):
 *
 * 1. the campaign's drawCommitment (shown since its creation) is the one the
 *    draw states, and sha256(drawSeed) equals it;
 * 2. the order lists the whole pre-queue, strictly ascending;
 * 3. with --user, HMAC(drawSeed, userId) is in the order (the user's place in
 *    the draw); with --ticket too, that ticket is the user's, shows that
 *    drawValue, and, while waiting, stands no further back than that place.
 *
 * Exit status 0 when every check holds, 1 when one fails (or the server
 * cannot be read), 2 for bad usage.
 */
import { StampedeClient } from "../../client/client.ts";
import { drawIndex, drawProblems, drawValue } from "../../client/draw.ts";
import { StampedeClientError } from "../../client/errors.ts";
import type { Ticket } from "../../client/types.ts";

interface VerifyOptions {
  baseUrl: string;
  campaignId: string;
  userId?: string;
  ticketId?: string;
  token?: string;
}

export function verifyDrawHelp(): string {
  return [
    "Usage: stampede verify-draw <base-url> <campaign> [--user <userId>] [--ticket <ticketId>] [--token <token>]",
    "",
    "Checks a waiting room's draw against what the campaign committed to:",
    "  sha256(drawSeed) = drawCommitment (shown since the campaign was created),",
    "  the published order covers the whole pre-queue and is strictly ascending,",
    "  with --user: HMAC-SHA256(drawSeed, userId) is in the order (the user's place),",
    "  with --ticket: the ticket is that user's, shows that drawValue, and waits no further back.",
    "",
    "  --token   a bearer token for the ticket read (the user's, or the admin's) when",
    "            the server runs with USER_TOKEN_SECRET; STAMPEDE_TOKEN by default",
    "",
    "Exit status: 0 every check holds, 1 one failed or the server could not be read, 2 bad usage.",
    "",
  ].join("\n");
}

class UsageError extends Error {}

function parseArgs(argv: string[]): VerifyOptions | "help" {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--user" || arg === "--ticket" || arg === "--token") {
      const value = argv[++i];
      if (value === undefined || value === "") throw new UsageError(`${arg} needs a value`);
      flags[arg.slice(2)] = value;
    } else if (arg.startsWith("--")) throw new UsageError(`unknown flag ${arg}`);
    else positional.push(arg);
  }
  if (positional.length !== 2) throw new UsageError("expected <base-url> <campaign>");
  const [baseUrl, campaignId] = positional as [string, string];
  if (!/^https?:\/\/./.test(baseUrl)) throw new UsageError(`not an http(s) URL: ${baseUrl}`);
  if (flags.ticket !== undefined && flags.user === undefined) throw new UsageError("--ticket needs --user");
  const token = flags.token ?? process.env.STAMPEDE_TOKEN;
  return {
    baseUrl: baseUrl.replace(/\/+$/, ""),
    campaignId,
    ...(flags.user === undefined ? {} : { userId: flags.user }),
    ...(flags.ticket === undefined ? {} : { ticketId: flags.ticket }),
    ...(token === undefined ? {} : { token }),
  };
}

export async function verifyDraw(argv: string[]): Promise<number> {
  let options: VerifyOptions | "help";
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`stampede verify-draw: ${error.message} (try stampede verify-draw --help)\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(verifyDrawHelp());
    return 0;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const failures = await check(options, out);
    out(failures === 0 ? "draw verified" : `draw NOT verified: ${failures} check(s) failed`);
    return failures === 0 ? 0 : 1;
  } catch (error) {
    const message = error instanceof StampedeClientError ? `${error.code}: ${error.message}` : String(error);
    process.stderr.write(`stampede verify-draw: cannot read ${options.baseUrl}: ${message}\n`);
    return 1;
  }
}

/** Runs the checks, printing one line each; resolves with how many failed. */
async function check(o: VerifyOptions, out: (line: string) => void): Promise<number> {
  const client = new StampedeClient({ baseUrl: o.baseUrl, token: o.token, deadlineMs: 60_000 });
  let failures = 0;
  const verdict = (ok: boolean, line: string) => {
    if (!ok) failures++;
    out(`${ok ? "ok  " : "FAIL"} ${line}`);
  };

  const campaign = await client.getCampaign(o.campaignId);
  if (!campaign.drawCommitment) {
    verdict(false, `campaign ${o.campaignId} has no waiting room (no drawCommitment)`);
    return failures;
  }
  const draw = await client.draw(o.campaignId);
  verdict(
    draw.drawCommitment === campaign.drawCommitment,
    `the draw states the campaign's commitment ${campaign.drawCommitment}`,
  );
  const problems = await drawProblems(draw);
  const seedProblems = problems.filter((p) => p.includes("drawSeed"));
  const orderProblems = problems.filter((p) => !p.includes("drawSeed"));
  verdict(seedProblems.length === 0, seedProblems[0] ?? "sha256(drawSeed) = drawCommitment");
  verdict(
    orderProblems.length === 0,
    orderProblems[0] ?? `the order lists the ${draw.prequeued} pre-queued tickets, strictly ascending`,
  );
  if (o.userId === undefined) return failures;

  const value = await drawValue(draw.drawSeed, o.userId);
  const index = drawIndex(draw.order, value);
  verdict(
    index >= 0,
    index >= 0
      ? `${o.userId}: drawValue ${value} is place ${index + 1} of ${draw.order.length} in the draw`
      : `${o.userId}: drawValue ${value} is not in the draw (not pre-queued?)`,
  );
  if (o.ticketId === undefined) return failures;

  const ticket: Ticket = await client.getTicket(o.campaignId, o.ticketId);
  verdict(
    ticket.userId === o.userId,
    ticket.userId === o.userId
      ? `ticket ${ticket.ticketId} is ${o.userId}'s`
      : `ticket ${ticket.ticketId} is not ${o.userId}'s: it names ${ticket.userId}`,
  );
  verdict(
    ticket.drawValue === value,
    ticket.drawValue === value
      ? `ticket ${ticket.ticketId} shows that drawValue`
      : `ticket ${ticket.ticketId} shows drawValue ${ticket.drawValue ?? "(none)"}`,
  );
  if (ticket.status === "waiting" && ticket.position !== null && index >= 0)
    verdict(
      ticket.position <= index + 1,
      `ticket ${ticket.ticketId} waits at position ${ticket.position}, no further back than its place ${index + 1}`,
    );
  else
    out(
      `     ticket ${ticket.ticketId} is ${ticket.status}${ticket.claimId ? ` (claim ${ticket.claimId})` : ""}`,
    );
  return failures;
}
