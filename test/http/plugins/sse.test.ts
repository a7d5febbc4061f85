import assert from "node:assert/strict";
import { test } from "node:test";
import Fastify from "fastify";
import { EventStream, streamStatus } from "../../../src/http/plugins/sse.ts";
import type { Watched } from "../../../src/services/watch.ts";

/** A watched value the test changes by hand. */
function watchedValue(current: { v: number; final?: boolean }) {
  let listener: ((value: typeof current) => void) | undefined;
  let stopped = false;
  const watched: Watched<typeof current> = {
    current,
    listen: (l) => {
      listener = l;
    },
    stop: () => {
      stopped = true;
    },
  };
  return { watched, change: (value: typeof current) => listener?.(value), stopped: () => stopped };
}

test("streamStatus: the value at once, changes in order, stale ones skipped, ends after a final one", async (t) => {
  const source = watchedValue({ v: 1 });
  const app = Fastify();
  app.get("/events", async (request, reply) => {
    streamStatus(request, reply, source.watched, {
      heartbeatMs: 20,
      present: (value) => ({ v: value.v }),
      isFinal: (value) => value.final === true,
      isStale: (value, last) => value.v < last.v,
    });
  });
  t.after(() => app.close());
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  const res = await fetch(`${url}/events`);
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  const reader = res.body!.getReader();
  let text = "";
  while (!text.includes(": heartbeat")) text += new TextDecoder().decode((await reader.read()).value);
  source.change({ v: 3 });
  source.change({ v: 2 }); // stale: older than what was sent
  source.change({ v: 4, final: true });
  source.change({ v: 5 }); // after the end: never sent
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const sent = [...text.matchAll(/event: status\ndata: (.*)\n\n/g)].map((m) => JSON.parse(m[1]!).v);
  assert.deepEqual(sent, [1, 3, 4]);
  assert.ok(source.stopped(), "the watch is stopped when the stream ends");
});

test("EventStream: a client that goes away ends the stream and runs its end callbacks once", async (t) => {
  const app = Fastify();
  const ended = Promise.withResolvers<number>();
  let calls = 0;
  app.get("/events", async (request, reply) => {
    const stream = EventStream.open(request, reply);
    stream.onEnd(() => {
      calls++;
      ended.resolve(calls);
    });
    stream.send("hello", { n: 1 });
  });
  t.after(() => app.close());
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  const controller = new AbortController();
  const res = await fetch(`${url}/events`, { signal: controller.signal });
  const first = new TextDecoder().decode((await res.body!.getReader().read()).value);
  assert.equal(first, 'event: hello\ndata: {"n":1}\n\n');
  controller.abort();
  assert.equal(await ended.promise, 1);
});
