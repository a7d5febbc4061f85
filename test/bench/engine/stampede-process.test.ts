import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { listeningUrl, STAMPEDE_BIN } from "../../../bench/engine/stampede-process.ts";

/** Finding the bin and reading the URL, without a process (a real ceiling: stampede-process.services.test.ts). */
test("the bin is found above the engine, and a server's URL is read from its 'listening on' line", () => {
  assert.ok(existsSync(STAMPEDE_BIN), STAMPEDE_BIN);
  assert.equal(listeningUrl("starting\n"), undefined);
  assert.equal(
    listeningUrl('{"msg":"stampede listening on http://127.0.0.1:40123 (embedded)"}\n'),
    "http://127.0.0.1:40123",
  );
});
