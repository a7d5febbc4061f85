/**
 * The waiting room scripts' return codes (room-join-5, room-ticket-3,
 * room-release-8: see each script's header), mapped to meaning in this one
 * place. They share admission's codes where they mean the same.
 */
export const ROOM = {
  OK: 0,
  JOINED: 1,
  EXISTING: 2,
  NOT_ACTIVE: 3,
  SOLD_OUT: 4,
  NOT_FOUND: 5,
  REBUILDING: 6,
  RATE_LIMITED: 8,
  NO_ROOM: 9,
  KEY_CHANGED: 10,
  NO_TICKET: 11,
} as const;

/** A ticket view's status letter (includes/room.lua). */
export const TICKET_STATUS = { w: "waiting", a: "admitted", s: "sold_out" } as const;

/** The room events channel's kinds (room-release-8.lua publishes them). */
export type RoomEventKind = "moved" | "sold_out";
export const ROOM_EVENT_KINDS: ReadonlySet<string> = new Set<RoomEventKind>(["moved", "sold_out"]);
