/**
 * Errors that happen before a request reaches Fastify's router: Node's HTTP
 * parser refusing the bytes (bad request line, invalid header characters,
 * smuggling-shaped Content-Length/Transfer-Encoding), a head larger than
 * MAX_HEADER_BYTES, a request not received in time. Node would answer them
 * with a bare 400/431/408; here they leave in the contract's shape.
 *
 * A head that is too large is answered 400 `invalid_request`, not 431 (not in
 * the catalogue) nor 413 (`payload_too_large` names the body, and a client
 * told its body is too large would look in the wrong place).
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { type ErrorCode, StampedeError } from "../../domain/errors.ts";
import { HTTP_STATUS, sendError, toStampedeError } from "./errors.ts";

/** Node's client error codes that have a message of their own. */
const CLIENT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    code: "invalid_request",
    message: "The request line and headers are larger than this server accepts (MAX_HEADER_BYTES).",
  },
  ERR_HTTP_REQUEST_TIMEOUT: { code: "invalid_request", message: "The request was not received in time." },
  ERR_HTTP_HEADERS_TIMEOUT: {
    code: "invalid_request",
    message: "The request headers were not received in time.",
  },
};

/** How long a refused connection may keep sending before it is cut (its bytes are read and dropped meanwhile). */
const DRAIN_MS = 2000;

const answered = new WeakSet<Socket>();

export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody to answer; the parser may also report
  // again for bytes that arrive after the first error.
  if (error.code === "ECONNRESET" || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const known = error.code ? CLIENT_ERRORS[error.code] : undefined;
  const apiError = new StampedeError(
    known?.code ?? "invalid_request",
    known?.message ?? `The request is not valid HTTP${error.code ? ` (${error.code})` : ""}.`,
  );
  const body = JSON.stringify(apiError.body());
  if (!socket.writable || socket.bytesWritten > 0) {
    // Part of a response already left (pipelining): a second status line would corrupt it.
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${HTTP_STATUS[apiError.code]} ${STATUS_CODES[HTTP_STATUS[apiError.code]]}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${randomUUID()}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
  // Closing while the client is still sending would make the kernel answer
  // with a reset, which can destroy the answer before the client reads it:
  // keep reading (the parser drops the bytes) for a moment, then cut.
  setTimeout(() => socket.destroy(), DRAIN_MS).unref();
}

/** Router-level errors (bad percent-encoding, a parameter over maxParamLength) in the contract's shape. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header("x-request-id", request.id);
  sendError(reply, toStampedeError(error, request));
}
