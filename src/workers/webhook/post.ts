/**
 * One webhook POST, over node:http(s) rather than fetch: the socket's own
 * lookup is where the resolved address is checked (./target.ts), so the
 * address judged is the address connected to. Redirects are not followed
 * (node:http never does): the 3xx is the answer. Connections are kept alive
 * per dispatcher, and the answer's body is read and dropped.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import {
  checkLiteralHost,
  guardedLookup,
  type Resolve,
  systemResolve,
  type WebhookTargetPolicy,
} from "./target.ts";

export interface WebhookAnswer {
  status: number;
  retryAfter: string | undefined;
}

export interface WebhookClientOptions {
  policy: WebhookTargetPolicy;
  /** The whole exchange (connect, send, answer) must fit in this. */
  timeoutMs: number;
  /** Name resolution (tests pass their own to play DNS rebinding). */
  resolve?: Resolve | undefined;
}

export class WebhookClient {
  readonly #o: WebhookClientOptions;
  readonly #lookup: LookupFunction;
  readonly #http = new http.Agent({ keepAlive: true });
  readonly #https = new https.Agent({ keepAlive: true });

  constructor(options: WebhookClientOptions) {
    this.#o = options;
    this.#lookup = guardedLookup(options.policy, options.resolve ?? systemResolve);
  }

  /** Resolves with the answer's status (any: 3xx included); rejects when there is none (refused target, network, timeout). */
  post(url: string, body: string, headers: Record<string, string>): Promise<WebhookAnswer> {
    const target = new URL(url);
    checkLiteralHost(target, this.#o.policy);
    const secure = target.protocol === "https:";
    return new Promise((resolve, reject) => {
      const request = (secure ? https : http).request(
        target,
        {
          method: "POST",
          agent: secure ? this.#https : this.#http,
          lookup: this.#lookup,
          headers: { ...headers, "content-length": Buffer.byteLength(body) },
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        },
        (response) => {
          response.on("error", reject);
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              retryAfter: header(response.headers["retry-after"]),
            }),
          );
          response.resume();
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
