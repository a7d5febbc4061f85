import { ERROR_CATALOGUE, type ErrorCode } from "../domain/errors.ts";

/**
 * Failures the client meets before any catalogue answer: the server was not
 * reached, did not answer within the attempt's time, or answered outside the
 * contract (a misconfigured base URL answering HTML, say).
 */
export const TRANSPORT_ERRORS = {
  network_error: { message: "The server could not be reached.", retryable: true },
  timeout: { message: "The server did not answer in time.", retryable: true },
  unexpected_response: { message: "The server answered outside the contract.", retryable: false },
} as const satisfies Record<string, { message: string; retryable: boolean }>;

export type TransportErrorCode = keyof typeof TRANSPORT_ERRORS;

/** Every code a client error can carry: the server's catalogue (src/domain/errors.ts) plus the transport's. */
export type ClientErrorCode = ErrorCode | TransportErrorCode;

const isCatalogueCode = (code: unknown): code is ErrorCode =>
  typeof code === "string" && Object.hasOwn(ERROR_CATALOGUE, code);

/** A refusal from the server (its `{error, message, ...}` body), or a transport failure. */
export class StampedeClientError extends Error {
  readonly code: ClientErrorCode;
  /** The HTTP status; undefined when no answer came. */
  readonly status: number | undefined;
  /** The server's Retry-After, in milliseconds (429, 503). */
  readonly retryAfterMs: number | undefined;
  /** The error body as sent (extra fields: `claimId` and `status` on already_claimed, `reason` on campaign_not_active). */
  readonly body: Readonly<Record<string, unknown>>;
  readonly requestId: string | undefined;

  constructor(
    code: ClientErrorCode,
    message: string,
    options: {
      status?: number;
      retryAfterMs?: number;
      body?: Record<string, unknown>;
      requestId?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StampedeClientError";
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.body = options.body ?? {};
    this.requestId = options.requestId;
  }

  /** True when the same request may succeed later (rate limited, a dependency down, no answer). */
  get retryable(): boolean {
    return isCatalogueCode(this.code)
      ? ERROR_CATALOGUE[this.code].retryable
      : TRANSPORT_ERRORS[this.code].retryable;
  }
}

export function transportError(code: TransportErrorCode, cause?: unknown): StampedeClientError {
  const detail = cause instanceof Error && cause.message ? `: ${cause.message}` : "";
  return new StampedeClientError(code, `${TRANSPORT_ERRORS[code].message}${detail}`, { cause });
}

/** Retry-After as seconds or an HTTP date, in milliseconds from now. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The error an answer of `status` >= 400 stands for. A body naming a catalogue
 * code is taken as is; a 502/503/504 without one comes from a proxy in front
 * of stampede and counts as `unavailable` (retryable); anything else is
 * `unexpected_response`.
 */
export function errorFromAnswer(status: number, body: unknown, headers: Headers): StampedeClientError {
  const retryAfterMs = parseRetryAfter(headers.get("retry-after"));
  const requestId = headers.get("x-request-id") ?? undefined;
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  let code: ClientErrorCode;
  if (isCatalogueCode(fields.error)) code = fields.error;
  else if (status === 502 || status === 503 || status === 504) code = "unavailable";
  else code = "unexpected_response";
  const message =
    typeof fields.message === "string"
      ? fields.message
      : code === "unexpected_response"
        ? `The server answered ${status} outside the contract.`
        : ERROR_CATALOGUE[code as ErrorCode].message;
  return new StampedeClientError(code, message, { status, retryAfterMs, body: fields, requestId });
}
