import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { startStampede } from "../../../bench/engine/stampede-process.ts";

/** A real `stampede bench --serve-ceiling` process through the bench's helper (without one: stampede-process.test.ts). */
test("the ceiling starts on a free port with its open-file limit raised, answers, and stops", async () => {
  const ceiling = await startStampede({
    name: "ceiling",
    args: ["bench", "--serve-ceiling"],
    openFiles: 4096,
    startTimeoutMs: 20_000,
  });
  try {
    assert.ok(ceiling.running());
    const res = await fetch(`${ceiling.url}/v1/campaigns/x/claims`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"userId":"u1"}',
    });
    assert.equal(res.status, 410);
    assert.equal(((await res.json()) as { error: string }).error, "sold_out");
    // Raised to what was asked, or as far as the hard limit allows.
    const [, soft, hard] = /Max open files\s+(\d+)\s+(\d+)/.exec(
      readFileSync(`/proc/${ceiling.pid}/limits`, "utf8"),
    )!;
    assert.ok(Number(soft) >= Math.min(4096, Number(hard)), `open-file limit ${soft} (hard ${hard})`);
  } finally {
    await ceiling.stop();
  }
  assert.equal(ceiling.running(), false);
});
