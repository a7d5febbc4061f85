import assert from "node:assert/strict";
import { test } from "node:test";
import { errorFromAnswer, parseRetryAfter } from "../../src/client/errors.ts";
import { ERROR_CODES, parseEvents, type SseEvent, StampedeClientError } from "../../src/client/index.ts";

const streamOf = (chunks: (string | Uint8Array)[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks)
        controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
      controller.close();
    },
  });

async function collect(chunks: (string | Uint8Array)[]) {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  for await (const event of parseEvents(streamOf(chunks), { retry: (ms) => retries.push(ms) }))
    events.push(event);
  return { events, retries };
}

test("parseEvents: line endings split across chunks, multi-line data, comments, BOM, ids, retry", async () => {
  const euro = new TextEncoder().encode("data: €\n\n");
  const { events, retries } = await collect([
    "\uFEFFevent: status\r",
    '\ndata: {"a":1}\r\n\r\n',
    ": heartbeat\n\n",
    "data: line one\ndata:line two\nid: 7\n\n",
    "retry: 250\nretry: soon\n\n",
    euro.slice(0, 7), // a multi-byte character split between chunks
    euro.slice(7),
    "event: ignored\n\n", // no data: nothing dispatched
    "data: no blank line at the end",
  ]);
  assert.deepEqual(events, [
    { event: "status", data: '{"a":1}' },
    { event: "message", data: "line one\nline two", id: "7" },
    { event: "message", data: "€", id: "7" },
  ]);
  assert.deepEqual(retries, [250]);
});

test("errorFromAnswer: every catalogue code keeps its code and retryable flag; others are named by status", () => {
  const headers = new Headers({ "retry-after": "3", "x-request-id": "req-1" });
  for (const code of ERROR_CODES) {
    const error = errorFromAnswer(400, { error: code, message: "m" }, headers);
    assert.ok(error instanceof StampedeClientError);
    assert.equal(error.code, code);
    assert.equal(error.retryable, code === "rate_limited" || code === "unavailable", code);
    assert.equal(error.retryAfterMs, 3000);
    assert.equal(error.requestId, "req-1");
  }
  assert.equal(errorFromAnswer(504, "<html>", new Headers()).code, "unavailable");
  assert.equal(errorFromAnswer(500, { error: "boom" }, new Headers()).code, "unexpected_response");
  assert.equal(errorFromAnswer(418, "teapot", new Headers()).retryable, false);
});

test("parseRetryAfter: seconds or an HTTP date", () => {
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  const now = Date.parse("2026-12-04T10:00:00Z");
  assert.equal(parseRetryAfter("Fri, 04 Dec 2026 10:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("Fri, 04 Dec 2026 09:00:00 GMT", now), 0);
});
