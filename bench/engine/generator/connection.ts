import net from "node:net";
import { type ParsedResponse, ResponseParser } from "./response-parser.ts";

/** A request that got no answer; `code` says why (the socket's error code, ETIMEDOUT, EPARSE, ...). */
export class RequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * One keep-alive HTTP/1.1 connection, one request at a time (no pipelining:
 * a browser or a shop backend does not pipeline). It connects on its first
 * request; a failure rejects the request in flight with the socket's error
 * code (ECONNRESET, ECONNREFUSED, ...) and the connection is dead from then on.
 */
export class Connection {
  readonly #socket: net.Socket;
  readonly #parser = new ResponseParser();
  #pending: { resolve: (r: ParsedResponse) => void; reject: (e: RequestError) => void } | undefined;
  #dead = false;
  /** performance.now() when the request in flight was written; 0 when idle. */
  busySince = 0;

  constructor(host: string, port: number) {
    this.#socket = net.connect({ host, port, noDelay: true });
    this.#socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on("error", (error: NodeJS.ErrnoException) =>
      this.#fail(new RequestError(error.code ?? "ESOCKET", error.message)),
    );
    this.#socket.on("close", () =>
      this.#fail(new RequestError("ECLOSED", "the server closed the connection")),
    );
  }

  get dead(): boolean {
    return this.#dead;
  }

  request(bytes: string | Buffer): Promise<ParsedResponse> {
    if (this.#dead) return Promise.reject(new RequestError("ECLOSED", "connection is closed"));
    if (this.#pending) return Promise.reject(new RequestError("EBUSY", "a request is already in flight"));
    return new Promise<ParsedResponse>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.busySince = performance.now();
      this.#socket.write(bytes);
    });
  }

  /** Abandons the request in flight (the sweeper's timeout) and closes. */
  abort(code: string, message: string): void {
    this.#fail(new RequestError(code, message));
    this.#socket.destroy();
  }

  close(): void {
    this.#dead = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let responses: ParsedResponse[];
    try {
      responses = this.#parser.push(chunk);
    } catch (error) {
      this.abort("EPARSE", (error as Error).message);
      return;
    }
    for (const response of responses) {
      const pending = this.#pending;
      if (!pending) {
        this.abort("EUNEXPECTED", "a response arrived with no request in flight");
        return;
      }
      this.#pending = undefined;
      this.busySince = 0;
      if (response.close) this.close();
      pending.resolve(response);
    }
  }

  #fail(error: RequestError): void {
    this.#dead = true;
    const pending = this.#pending;
    this.#pending = undefined;
    this.busySince = 0;
    pending?.reject(error);
  }
}
