import assert from "node:assert/strict";
import { test } from "node:test";
import { ResponseParser } from "../../../../bench/engine/generator/response-parser.ts";

const response = (status: number, body: string, extra = "") =>
  `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

test("parses one response, and several arriving in one chunk", () => {
  const parser = new ResponseParser();
  const [one] = parser.push(Buffer.from(response(202, '{"claimId":"a"}')));
  assert.equal(one!.status, 202);
  assert.equal(one!.body.toString(), '{"claimId":"a"}');
  assert.equal(one!.close, false);
  const two = parser.push(Buffer.from(response(410, "{}") + response(409, '{"x":1}')));
  assert.deepEqual(
    two.map((r) => r.status),
    [410, 409],
  );
  assert.equal(parser.pending, 0);
});

test("waits for a response split anywhere, byte by byte", () => {
  const parser = new ResponseParser();
  const bytes = Buffer.from(
    response(503, '{"error":"unavailable"}', "Retry-After: 2\r\nConnection: close\r\n"),
  );
  const got = [];
  for (let i = 0; i < bytes.length; i++) got.push(...parser.push(bytes.subarray(i, i + 1)));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.status, 503);
  assert.equal(got[0]!.retryAfter, "2");
  assert.equal(got[0]!.close, true);
  assert.equal(got[0]!.body.toString(), '{"error":"unavailable"}');
});

test("decodes a chunked body", () => {
  const parser = new ResponseParser();
  const raw = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const [r] = parser.push(Buffer.from(raw.slice(0, 30)));
  assert.equal(r, undefined);
  const [done] = parser.push(Buffer.from(raw.slice(30)));
  assert.equal(done!.body.toString(), "hello world");
});

test("refuses what is not HTTP", () => {
  assert.throws(() => new ResponseParser().push(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n")), /not an HTTP/);
});
