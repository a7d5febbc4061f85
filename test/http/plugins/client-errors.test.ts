import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { HTTP_STATUS } from "../../../src/http/plugins/errors.ts";
import { createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";
import { type RawAnswer, rawRequest } from "../../helpers/raw-http.ts";

/** Requests that Node's parser or Fastify's router refuse still get the contract's JSON error. */
function assertContractError(answer: RawAnswer, status: number, code: string, what: string) {
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer)}`);
  assert.match(answer.headers["content-type"] ?? "", /^application\/json/, what);
  assert.ok(answer.headers["x-request-id"], `${what}: X-Request-Id`);
  const body = JSON.parse(answer.body) as { error: string; message: string };
  assert.equal(body.error, code, what);
  assert.equal(HTTP_STATUS[body.error as keyof typeof HTTP_STATUS], status, what);
  assert.equal(typeof body.message, "string", what);
}

test("malformed HTTP, oversized heads and router errors answer in the contract's shape", async (t) => {
  const { app } = await embeddedApp(t, { app: { maxHeaderBytes: 8 * 1024 } });
  const { id } = await createCampaign(app, { name: "c", stock: 10 });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const send = (bytes: string) => rawRequest(port, bytes);

  const bigHeader = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`;
  assertContractError(await send(bigHeader), 400, "invalid_request", "a head over MAX_HEADER_BYTES");
  const manyHeaders = `GET /healthz HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 400 }, (_, i) => `X-H${i}: ${"v".repeat(30)}\r\n`).join("")}\r\n`;
  assertContractError(await send(manyHeaders), 400, "invalid_request", "many headers over MAX_HEADER_BYTES");
  assertContractError(await send("GARBAGE\r\n\r\n"), 400, "invalid_request", "not HTTP");
  assertContractError(
    await send("GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n"),
    400,
    "invalid_request",
    "space in a header name",
  );
  assertContractError(
    await send("GET / HTTP/1.1\r\nHost: x\r\nX: a\u0001b\r\n\r\n"),
    400,
    "invalid_request",
    "control byte in a header value",
  );
  assertContractError(
    await send("GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n"),
    400,
    "invalid_request",
    "NUL in the target",
  );
  assertContractError(
    await send(
      `POST /v1/campaigns/${id}/claims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ),
    400,
    "invalid_request",
    "Content-Length with Transfer-Encoding (request smuggling)",
  );
  assertContractError(
    await send(
      `POST /v1/campaigns/${id}/claims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    ),
    400,
    "invalid_request",
    "broken chunked encoding",
  );
  assertContractError(
    await send("GET /v1/claims/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    400,
    "invalid_request",
    "bad percent-encoding",
  );
  assertContractError(
    await send(`GET /v1/claims/${"a".repeat(300)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
    400,
    "invalid_request",
    "a path parameter over maxParamLength (Fastify would say 414)",
  );
  const body = JSON.stringify({ userId: "u".repeat(17_000) });
  assertContractError(
    await send(
      `POST /v1/campaigns/${id}/claims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    ),
    413,
    "payload_too_large",
    "a body over 16 KB",
  );

  const healthy = await send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(healthy.status, 200, "still serving");
});
