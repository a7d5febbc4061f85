import type { FastifyInstance } from "fastify";
import type { TaskRecord } from "../../ports/task-store.ts";
import type { TaskService } from "../../services/tasks/task-service.ts";
import type { Guard } from "../plugins/auth.ts";
import { COMMON_ERRORS, errorResponses } from "../plugins/openapi.ts";
import { keepIfInTime } from "../plugins/request-timeout.ts";
import { streamStatus } from "../plugins/sse.ts";
import { taskBody } from "../present.ts";
import { idempotencyHeaders } from "../schemas/contract.ts";
import {
  deadLetterQuery,
  submitTaskRequest,
  taskAcceptedSchema,
  taskParams,
  taskSchema,
} from "../schemas/tasks.ts";

export interface TaskRouteOptions {
  admin: Guard;
  sseHeartbeatMs: number;
}

const FINAL = new Set(["succeeded", "failed"]);

/**
 * The generic task routes (docs/api.md "Generic tasks"), all admin: tasks are
 * submitted by the operator's own services. The dead-letter routes sit under
 * /v1/admin beside the other operator routes.
 */
export function registerTaskRoutes(
  app: FastifyInstance,
  tasks: TaskService,
  options: TaskRouteOptions,
): void {
  const { admin } = options;
  app.addSchema(taskSchema);
  const types = tasks.registry.names();

  app.post<{ Body: { type: string; payload: unknown }; Headers: { "idempotency-key"?: string } }>(
    "/v1/tasks",
    {
      onRequest: admin,
      bodyLimit: 64 * 1024,
      schema: {
        summary: "Submit a task (admin)",
        description:
          "Puts the task on the tasks queue and answers at once; a registered handler runs it at least once. " +
          "A repeat with the same Idempotency-Key answers the first request's task id. " +
          `Task types registered at start: ${types.map((t) => `\`${t}\``).join(", ") || "(none)"}.`,
        tags: ["tasks"],
        security: [{ admin: [] }],
        headers: idempotencyHeaders,
        body: submitTaskRequest,
        response: {
          202: taskAcceptedSchema,
          ...errorResponses(
            ...COMMON_ERRORS,
            "unknown_task_type",
            "unauthorized",
            "payload_too_large",
            "unsupported_media_type",
          ),
        },
      },
    },
    async (request, reply) => {
      const { type, payload } = request.body;
      const { taskId } = await tasks.submit(type, payload, request.headers["idempotency-key"]);
      reply.code(202);
      return { taskId, status: "queued" };
    },
  );

  app.get<{ Params: { taskId: string } }>(
    "/v1/tasks/:taskId",
    {
      onRequest: admin,
      schema: {
        summary: "Read a task's status and result (admin)",
        tags: ["tasks"],
        security: [{ admin: [] }],
        params: taskParams,
        response: {
          200: { $ref: "Task#" },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "task_not_found"),
        },
      },
    },
    async (request) => taskBody(await tasks.get(request.params.taskId)),
  );

  app.get<{ Querystring: { limit?: string; offset?: string } }>(
    "/v1/admin/tasks/dead-letters",
    {
      onRequest: admin,
      schema: {
        summary: "The dead-letter list: tasks that failed every attempt (admin)",
        description: "Newest first. Kept for TASK_DEAD_LETTER_TTL_S.",
        tags: ["tasks"],
        security: [{ admin: [] }],
        querystring: deadLetterQuery,
        response: {
          200: {
            type: "object",
            required: ["tasks"],
            properties: { tasks: { type: "array", items: { $ref: "Task#" } } },
          },
          ...errorResponses(...COMMON_ERRORS, "unauthorized"),
        },
      },
    },
    async (request) => {
      const limit = Number(request.query.limit ?? 100);
      const offset = Number(request.query.offset ?? 0);
      return { tasks: (await tasks.deadLetters(limit, offset)).map(taskBody) };
    },
  );

  app.post<{ Params: { taskId: string } }>(
    "/v1/admin/tasks/dead-letters/:taskId/retry",
    {
      onRequest: admin,
      schema: {
        summary: "Queue a dead-lettered task again, with a fresh set of attempts (admin)",
        tags: ["tasks"],
        security: [{ admin: [] }],
        params: taskParams,
        response: {
          202: { $ref: "Task#" },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "task_not_found"),
        },
      },
    },
    async (request, reply) => {
      const task = taskBody(await tasks.retryDeadLetter(request.params.taskId));
      reply.code(202);
      return task;
    },
  );

  app.get<{ Params: { taskId: string } }>(
    "/v1/tasks/:taskId/events",
    {
      onRequest: admin,
      schema: {
        summary: "Watch a task (Server-Sent Events, admin)",
        description:
          "`event: status` with the task at once, then on every change; the stream ends once the task " +
          "succeeded or failed. A comment line every 15 s keeps proxies from closing it.",
        tags: ["tasks"],
        security: [{ admin: [] }],
        params: taskParams,
        produces: ["text/event-stream"],
        response: {
          200: {
            description: "an event stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...errorResponses(...COMMON_ERRORS, "unauthorized", "task_not_found"),
        },
      },
    },
    async (request, reply) => {
      // A watch that starts after the deadline is stopped at once.
      const watched = keepIfInTime(request, await tasks.follow(request.params.taskId), (late) => late.stop());
      streamStatus(request, reply, watched, {
        heartbeatMs: options.sseHeartbeatMs,
        present: taskBody,
        isFinal: (task: TaskRecord) => FINAL.has(task.status),
        isStale: (task, lastSent) => task.updatedAt < lastSent.updatedAt,
      });
    },
  );
}
