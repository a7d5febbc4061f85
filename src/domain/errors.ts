/**
 * The contract's error catalogue (SPEC.md, "HTTP API"): every error code a
 * client can see, with its HTTP status. Codes are stable strings; nothing
 * outside this file invents one, and test/domain/errors.test.ts checks that
 * the OpenAPI document lists exactly these.
 */
export const ERROR_CATALOGUE = {
  invalid_request: { status: 400, message: "The request is malformed." },
  unknown_task_type: { status: 400, message: "No handler is registered for this task type." },
  unauthorized: { status: 401, message: "A valid bearer token is required." },
  forbidden: { status: 403, message: "This token may not do that." },
  campaign_not_active: { status: 403, message: "The campaign is not accepting claims now." },
  not_found: { status: 404, message: "No such route." },
  campaign_not_found: { status: 404, message: "No campaign with this id." },
  claim_not_found: { status: 404, message: "No claim with this id." },
  task_not_found: { status: 404, message: "No task with this id." },
  method_not_allowed: { status: 405, message: "This route does not take that method." },
  campaign_exists: { status: 409, message: "A campaign with this id already exists." },
  already_claimed: { status: 409, message: "This user already holds the most claims allowed." },
  sold_out: { status: 410, message: "Every unit is held by an admitted claim." },
  payload_too_large: { status: 413, message: "The request body is too large." },
  unsupported_media_type: { status: 415, message: "The body must be application/json." },
  rate_limited: { status: 429, message: "Too many requests; retry later." },
  unavailable: { status: 503, message: "A dependency did not answer in time; retry later." },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** An error that leaves the API as the contract's `{error, message, ...}` shape. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields the contract names for this code (e.g. claimId on already_claimed). */
  readonly fields: Record<string, unknown>;
  /** Seconds, sent as Retry-After on 429 and 503. */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { fields?: Record<string, unknown>; retryAfter?: number; cause?: unknown } = {},
  ) {
    // These are the contract's answers (409, 410, 429...), not bugs: nobody
    // reads their stack, and capturing one per rejected claim cost 5-10% of
    // the server's CPU in a sold-out spike.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ?? ERROR_CATALOGUE[code].message, { cause: options.cause });
    Error.stackTraceLimit = limit;
    this.name = "ApiError";
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.fields = options.fields ?? {};
    this.retryAfter = options.retryAfter;
  }

  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.fields };
  }
}
