import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { DrawRead, TicketRead, WaitingRoomService } from "../../services/waiting-room.ts";
import type { UserAuth } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import { keepIfInTime } from "../plugins/request-timeout.ts";
import { EventStream } from "../plugins/sse.ts";
import { ticketBody } from "../present.ts";
import { campaignParams, claimRequest } from "../schemas/contract.ts";
import { drawSchema, ticketParams } from "../schemas/waiting-room.ts";

export interface WaitingRoomRouteOptions {
  auth: UserAuth;
  /** Milliseconds between SSE heartbeat comments (15 s by contract; tests shorten it). */
  sseHeartbeatMs: number;
}

type TicketParams = { id: string; ticketId: string };

/**
 * The waiting room (docs/api.md "Waiting room"): join, read and watch a
 * ticket, the draw. Tickets are capabilities like claims: whoever knows the
 * id reads it; with USER_TOKEN_SECRET, its user or the admin.
 */
export function registerWaitingRoomRoutes(
  app: FastifyInstance,
  room: WaitingRoomService,
  options: WaitingRoomRouteOptions,
): void {
  const { auth } = options;

  app.post<{ Params: { id: string }; Body: { userId: string } }>(
    "/v1/campaigns/:id/queue",
    {
      bodyLimit: 16 * 1024,
      onRequest: auth.requireUser,
      schema: {
        summary: "Join a campaign's waiting room",
        description:
          "From startsAt - prequeueSeconds. 202 with a new ticket (position null before startsAt: the draw " +
          "orders the pre-queue then); 200 with the user's ticket when they joined already. Checks as for a " +
          "claim: 400/413/415, 404, 429 (an answer already known may come first: the user's ticket, a room " +
          "not open, a sold-out line), 403 (before the pre-queue opens: not_started; ended, paused, closed), " +
          "410 (no unit can become free any more). 400 for a campaign without a waiting room. With " +
          "USER_TOKEN_SECRET set, the user's token is required first.",
        tags: ["waiting room"],
        security: [{}, { user: [] }],
        params: campaignParams,
        body: claimRequest,
        response: {
          200: { $ref: "Ticket#" },
          202: { $ref: "Ticket#" },
          ...errorResponses(
            ...COMMON_ERRORS,
            "payload_too_large",
            "unsupported_media_type",
            "unauthorized",
            "forbidden",
            "campaign_not_found",
            "campaign_not_active",
            "sold_out",
          ),
        },
      },
    },
    async (request, reply) => {
      const { userId } = request.body;
      auth.assertUser(request, userId);
      const { created, ticket } = await room.join({
        campaignId: request.params.id,
        userId,
        clientIp: request.ip,
      });
      reply.code(created ? 202 : 200);
      return ticketBody(ticket);
    },
  );

  app.get<{ Params: TicketParams }>(
    "/v1/campaigns/:id/queue/:ticketId",
    {
      onRequest: auth.requireReader,
      schema: {
        summary: "Read a waiting-room ticket: its place in line",
        tags: ["waiting room"],
        params: ticketParams,
        response: {
          200: { $ref: "Ticket#" },
          ...errorResponses(
            ...COMMON_ERRORS,
            "unauthorized",
            "forbidden",
            "campaign_not_found",
            "ticket_not_found",
          ),
        },
      },
    },
    async (request) => {
      const ticket = await room.ticket(request.params.id, request.params.ticketId);
      auth.assertReader(request, ticket.userId);
      return ticketBody(ticket);
    },
  );

  app.get<{ Params: TicketParams }>(
    "/v1/campaigns/:id/queue/:ticketId/events",
    {
      onRequest: auth.requireReaderOrCookie,
      schema: {
        summary: "Watch a waiting-room ticket (Server-Sent Events)",
        description:
          "`event: status` with the ticket at once, then at most once a second while it waits and its line " +
          "moves; the stream ends at admitted or sold_out. A comment line every 15 s keeps proxies from closing it.",
        tags: ["waiting room"],
        params: ticketParams,
        produces: ["text/event-stream"],
        response: {
          200: {
            description: "an event stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...errorResponses(
            ...COMMON_ERRORS,
            "unauthorized",
            "forbidden",
            "campaign_not_found",
            "ticket_not_found",
          ),
        },
      },
    },
    async (request, reply) => {
      const { id, ticketId } = request.params;
      const watched = keepIfInTime(request, await room.watch(id, ticketId), (late) => late.stop());
      try {
        auth.assertReader(request, watched.current.userId);
      } catch (error) {
        watched.stop();
        throw error;
      }
      // Paced by the line's watch (one timer per campaign): no heartbeat timer per stream.
      const stream = EventStream.open(request, reply);
      stream.onEnd(() => watched.stop());
      let last: string | undefined;
      let wroteAt = Date.now();
      const send = (ticket: TicketRead) => {
        if (stream.ended) return;
        const data = JSON.stringify(ticketBody(ticket));
        const now = Date.now();
        if (data === last) {
          if (now - wroteAt >= options.sseHeartbeatMs) {
            stream.write(": heartbeat\n\n");
            wroteAt = now;
          }
          return;
        }
        last = data;
        wroteAt = now;
        stream.write(`event: status\ndata: ${data}\n\n`);
        if (ticket.status !== "waiting") stream.end();
      };
      send(watched.current);
      watched.listen(send);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/campaigns/:id/draw",
    {
      schema: {
        summary: "The waiting room's draw (public, from startsAt)",
        description:
          "The commitment, the revealed seed and the pre-queue's drawValues in draw order (no userIds), " +
          "streamed: a million values cost the server a page of memory. Check it with " +
          "`stampede verify-draw` or the client library's verifyDraw(). 403 campaign_not_active (reason " +
          "not_started) before startsAt; 400 for a campaign without a waiting room.",
        tags: ["waiting room"],
        params: campaignParams,
        produces: ["application/json"],
        response: {
          200: { description: "the draw", content: { "application/json": { schema: drawSchema } } },
          ...errorResponses(...COMMON_ERRORS, "campaign_not_found", "campaign_not_active"),
        },
      },
    },
    async (request, reply) => {
      const draw = await room.draw(request.params.id);
      reply.type("application/json; charset=utf-8").header("cache-control", "no-store");
      return reply.send(Readable.from(drawChunks(draw), { objectMode: false, highWaterMark: 64 * 1024 }));
    },
  );
}

/** The draw as JSON text, a page of the order at a time. */
async function* drawChunks(draw: DrawRead): AsyncGenerator<string> {
  yield `{"drawCommitment":${JSON.stringify(draw.drawCommitment)},"drawSeed":${JSON.stringify(draw.drawSeed)},"prequeued":${draw.prequeued},"order":[`;
  let first = true;
  for await (const page of draw.order) {
    if (page.length === 0) continue;
    yield `${first ? "" : ","}"${page.join('","')}"`;
    first = false;
  }
  yield "]}";
}
