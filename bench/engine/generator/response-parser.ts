/**
 * An incremental HTTP/1.1 response parser, just enough for a load generator:
 * status, the few headers a client acts on (Content-Length, chunked
 * Transfer-Encoding, Connection, Retry-After) and the body. node:http and
 * undici spend four to five times the CPU per request that this does (see
 * BENCHMARKS.md, "The generator"), and on two cores the generator's CPU is
 * taken from the server under test.
 */

export interface ParsedResponse {
  status: number;
  /** The raw body; decoded only by callers that need it (202, 409, reads). */
  body: Buffer;
  retryAfter: string | undefined;
  /** The server will close the connection after this response. */
  close: boolean;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");
const EMPTY = Buffer.alloc(0);

export class ResponseParser {
  #buffer: Buffer = EMPTY;

  /** Feeds bytes; returns the responses completed by them (usually zero or one). */
  push(chunk: Buffer): ParsedResponse[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: ParsedResponse[] = [];
    for (;;) {
      const response = this.#next();
      if (!response) return out;
      out.push(response);
    }
  }

  /** Bytes received and not yet part of a complete response. */
  get pending(): number {
    return this.#buffer.length;
  }

  #next(): ParsedResponse | undefined {
    const buffer = this.#buffer;
    const headerEnd = buffer.indexOf(HEADER_END);
    if (headerEnd === -1) {
      if (buffer.length > 64 * 1024) throw new Error("response header too large");
      return undefined;
    }
    const head = buffer.toString("latin1", 0, headerEnd);
    if (!head.startsWith("HTTP/1.")) throw new Error(`not an HTTP/1.x response: ${head.slice(0, 40)}`);
    const status = Number(head.slice(9, 12));
    if (!Number.isInteger(status)) throw new Error(`bad status line: ${head.slice(0, 40)}`);
    let contentLength = -1;
    let chunked = false;
    let close = head.startsWith("HTTP/1.0");
    let retryAfter: string | undefined;
    let at = head.indexOf("\r\n");
    while (at !== -1) {
      const lineEnd = head.indexOf("\r\n", at + 2);
      const line = head.slice(at + 2, lineEnd === -1 ? head.length : lineEnd);
      at = lineEnd;
      const colon = line.indexOf(":");
      if (colon === -1) continue;
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") contentLength = Number(value);
      else if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
      else if (name === "connection") close = value.toLowerCase() === "close";
      else if (name === "retry-after") retryAfter = value;
    }
    const bodyStart = headerEnd + 4;
    if (chunked) return this.#chunked(status, bodyStart, retryAfter, close);
    // 1xx, 204 and 304 have no body; anything else without a length is not
    // something stampede sends (it would need read-until-close).
    const length = Math.max(contentLength, 0);
    if (buffer.length < bodyStart + length) return undefined;
    const body = buffer.subarray(bodyStart, bodyStart + length);
    this.#buffer = buffer.length === bodyStart + length ? EMPTY : buffer.subarray(bodyStart + length);
    return { status, body, retryAfter, close };
  }

  #chunked(
    status: number,
    bodyStart: number,
    retryAfter: string | undefined,
    close: boolean,
  ): ParsedResponse | undefined {
    const buffer = this.#buffer;
    const parts: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = buffer.indexOf(CRLF, at);
      if (lineEnd === -1) return undefined;
      const size = Number.parseInt(buffer.toString("latin1", at, lineEnd), 16);
      if (!Number.isFinite(size)) throw new Error("bad chunk size");
      const dataStart = lineEnd + 2;
      if (size === 0) {
        // Last chunk, no trailers expected: a final CRLF.
        if (buffer.length < dataStart + 2) return undefined;
        this.#buffer = buffer.subarray(dataStart + 2);
        return { status, body: Buffer.concat(parts), retryAfter, close };
      }
      if (buffer.length < dataStart + size + 2) return undefined;
      parts.push(buffer.subarray(dataStart, dataStart + size));
      at = dataStart + size + 2;
    }
  }
}
