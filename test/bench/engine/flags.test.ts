import assert from "node:assert/strict";
import { test } from "node:test";
import { type FlagTable, flagHelp, int, parseFlags, UsageError } from "../../../bench/engine/flags.ts";
import { ms, msFigure, num, pct } from "../../../bench/engine/format.ts";

const TABLE: FlagTable = {
  target: { type: "string", multiple: true, doc: "a URL", default: "http://127.0.0.1:8080" },
  users: { type: "string", doc: "users", default: "10" },
  rate: { type: "string", doc: "fixed rate", shown: "(off)" },
  json: { type: "boolean", doc: "JSON out" },
  help: { type: "boolean", short: "h", doc: "this text" },
};

test("a flag not given takes its declared default; repeated flags collect; booleans default to absent", () => {
  assert.deepEqual({ ...parseFlags([], TABLE) }, { target: ["http://127.0.0.1:8080"], users: "10" });
  const v = parseFlags(
    ["--target", "http://a:1", "--target", "http://b:2", "--users", "5", "--json", "-h"],
    TABLE,
  );
  assert.deepEqual(v.target, ["http://a:1", "http://b:2"]);
  assert.equal(v.users, "5");
  assert.equal(v.json, true);
  assert.equal(v.help, true);
  assert.equal(v.rate, undefined);
});

test("an unknown flag or a stray argument is a UsageError", () => {
  assert.throws(() => parseFlags(["--nope"], TABLE), UsageError);
  assert.throws(() => parseFlags(["stray"], TABLE), UsageError);
});

test("--help lines come from the same table: each flag, its text, its default when it has one", () => {
  assert.deepEqual(flagHelp(TABLE, 8), [
    "  --target   a URL [default: http://127.0.0.1:8080]",
    "  --users    users [default: 10]",
    "  --rate     fixed rate [default: (off)]",
    "  --json     JSON out",
    "  --help     this text",
  ]);
});

test("int takes whole numbers in range, with _ as a separator, and names the flag otherwise", () => {
  assert.equal(int("users", "100_000", 1), 100_000);
  assert.throws(() => int("users", "many", 1), /--users: expected an integer, got "many"/);
  assert.throws(() => int("users", "1.5", 1), UsageError);
  assert.throws(() => int("pairs", "0", 1), /--pairs: expected 1 to/);
  assert.throws(() => int("pairs", "9", 1, 5), /expected 1 to 5, got 9/);
});

test("figures print with separators, two decimals under 10 ms, n/a when missing", () => {
  assert.equal(num(12_345.6), "12,346");
  assert.equal(num(undefined), "n/a");
  assert.equal(num(Number.NaN), "n/a");
  assert.equal(ms(3.254), "3.25 ms");
  assert.equal(ms(1204.4), "1,204 ms");
  assert.equal(msFigure(0.5), "0.50");
  assert.equal(ms(undefined), "n/a");
  assert.equal(pct(0.564), "56%");
  assert.equal(pct(Number.POSITIVE_INFINITY), "n/a");
});
