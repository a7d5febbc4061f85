/**
 * `stampede/client`: a typed client of stampede's HTTP API for browsers and
 * Node (fetch-based, no dependency). README "Use it from code" shows it in use.
 */
export { ERROR_CATALOGUE, ERROR_CODES, type ErrorCode } from "../domain/errors.ts";
export { type ClaimOptions, type ClientOptions, StampedeClient } from "./client.ts";
export type { ServerClock } from "./clock.ts";
export { drawIndex, drawProblems, drawValue, verifyDraw } from "./draw.ts";
export {
  type ClientErrorCode,
  StampedeClientError,
  TRANSPORT_ERRORS,
  type TransportErrorCode,
} from "./errors.ts";
export {
  type ApiRequest,
  type CallOptions,
  newIdempotencyKey,
  type RetryInfo,
  type TokenSource,
} from "./http.ts";
export { parseEvents, type SseEvent } from "./sse.ts";
export type {
  Campaign,
  Claim,
  ClaimResult,
  ClaimStatus,
  Draw,
  HoldResult,
  JoinResult,
  Ticket,
  TicketStatus,
  WaitingRoomSettings,
} from "./types.ts";
export type { WatchOptions } from "./watch.ts";
