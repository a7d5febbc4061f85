import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../bench/engine/flags.ts";
import { intFlag, parseScenarioFlags, scenarioHelp } from "../../../bench/harness/args.ts";

const SOLD_OUT = new URL("../../../bench/scenarios/sold-out.ts", import.meta.url).href;

test("without flags a scenario runs its own defaults", () => {
  const args = parseScenarioFlags([], { deadlineMinutes: 30 });
  assert.ok(args !== "help");
  assert.equal(args.mode, "embedded");
  assert.equal(args.pairs, 3);
  assert.equal(args.profile, false);
  assert.equal(args.outDir, "bench/results");
  assert.equal(args.deadlineMinutes, 30);
  assert.equal(args.users, undefined);
  assert.equal(args.concurrency, undefined);
});

test("common and own flags are parsed together; a scenario may default to another mode", () => {
  const own = { duration: { type: "string" as const, doc: "seconds", default: "60" } };
  const args = parseScenarioFlags(
    [
      "--mode",
      "kafka",
      "--pairs",
      "1",
      "--users",
      "5_000",
      "--concurrency",
      "all",
      "--profile",
      "--duration",
      "5",
    ],
    { deadlineMinutes: 45, mode: "redis" },
    own,
  );
  assert.ok(args !== "help");
  assert.equal(args.mode, "kafka");
  assert.equal(args.pairs, 1);
  assert.equal(args.users, 5000);
  assert.equal(args.concurrency, "all");
  assert.equal(args.profile, true);
  assert.equal(intFlag(args, "duration", 1), 5);
  const soak = parseScenarioFlags([], { deadlineMinutes: 40, mode: "redis" }, own);
  assert.ok(soak !== "help");
  assert.equal(soak.mode, "redis");
  assert.equal(intFlag(soak, "duration"), 60);
});

test("a bad mode, a bad number or an unknown flag is a UsageError naming it", () => {
  assert.throws(
    () => parseScenarioFlags(["--mode", "nats"], { deadlineMinutes: 1 }),
    /--mode: expected embedded/,
  );
  assert.throws(() => parseScenarioFlags(["--pairs", "0"], { deadlineMinutes: 1 }), /--pairs/);
  assert.throws(() => parseScenarioFlags(["--users", "lots"], { deadlineMinutes: 1 }), /--users/);
  assert.throws(() => parseScenarioFlags(["--duration", "5"], { deadlineMinutes: 1 }), UsageError);
  assert.equal(parseScenarioFlags(["--help"], { deadlineMinutes: 1 }), "help");
});

test("--help is the script's header comment, then its own flags, then the common ones", () => {
  const help = scenarioHelp(
    SOLD_OUT,
    { deadlineMinutes: 30 },
    { extra: { type: "string", doc: "an own flag" } },
  );
  assert.match(help, /^sold-out: 100,000 users, stock 100, concurrency 500/);
  assert.match(help, /Usage: bench\/run\.sh sold-out/);
  assert.doesNotMatch(help, /import /, "the header ends where the code begins");
  assert.ok(help.indexOf("--extra") < help.indexOf("Common flags:"));
  assert.match(help, /--deadline-minutes +stop everything after this long \[default: 30\]/);
});
