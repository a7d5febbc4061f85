/**
 * The contract's error catalogue (docs/api.md, "Errors"): every error code a
 * client can see, and whether retrying can help. Codes are stable strings;
 * nothing outside this file invents one. Services and adapters throw
 * StampedeError with these codes; only the HTTP edge (src/http/errors.ts)
 * turns a code into a status, and test/domain/errors.test.ts checks that the
 * OpenAPI document lists exactly these.
 */
export const ERROR_CATALOGUE = {
  invalid_request: { message: "The request is malformed.", retryable: false },
  unknown_task_type: { message: "No handler is registered for this task type.", retryable: false },
  unauthorized: { message: "A valid bearer token is required.", retryable: false },
  forbidden: { message: "This token may not do that.", retryable: false },
  campaign_not_active: { message: "The campaign is not accepting claims now.", retryable: false },
  not_found: { message: "No such route.", retryable: false },
  campaign_not_found: { message: "No campaign with this id.", retryable: false },
  claim_not_found: { message: "No claim with this id.", retryable: false },
  task_not_found: { message: "No task with this id.", retryable: false },
  ticket_not_found: { message: "No waiting-room ticket with this id in this campaign.", retryable: false },
  method_not_allowed: { message: "This route does not take that method.", retryable: false },
  campaign_exists: { message: "A campaign with this id already exists.", retryable: false },
  already_claimed: { message: "This user already holds the most claims allowed.", retryable: false },
  already_confirmed: {
    message: "This claim is confirmed already; it can no longer be released.",
    retryable: false,
  },
  sold_out: { message: "Every unit is held by an admitted claim.", retryable: false },
  hold_expired: { message: "The hold expired or was released before it was confirmed.", retryable: false },
  payload_too_large: { message: "The request body is too large.", retryable: false },
  unsupported_media_type: { message: "The body must be application/json.", retryable: false },
  rate_limited: { message: "Too many requests; retry later.", retryable: true },
  unavailable: { message: "A dependency did not answer in time; retry later.", retryable: true },
} as const satisfies Record<string, { message: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** An expected failure with a contract code; the HTTP edge answers it as `{error, message, ...fields}`. */
export class StampedeError extends Error {
  readonly code: ErrorCode;
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
    this.name = "StampedeError";
    this.code = code;
    this.fields = options.fields ?? {};
    this.retryAfter = options.retryAfter;
  }

  /** True when the same request may succeed later (a dependency was down, a limit was hit). */
  get retryable(): boolean {
    return ERROR_CATALOGUE[this.code].retryable;
  }

  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.fields };
  }
}
