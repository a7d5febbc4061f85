import type { FastifyInstance } from "fastify";
import { StampedeError } from "../../domain/errors.ts";
import type { TaskRecord } from "../../ports/task-store.ts";
import type { TaskService } from "../../services/tasks/task-service.ts";
import type { Guard } from "../auth.ts";
import type { ApiDeps } from "../deps.ts";
import { COMMON_ERRORS, errorResponses } from "../openapi.ts";
import { idempotencyHeaders } from "../schemas.ts";
import {
  deadLetterQuery,
  submitTaskBody,
  taskAcceptedSchema,
  taskBody,
  taskParams,
  taskSchema,
} from "../task-schemas.ts";
import { withTimeout } from "../timeout.ts";

/**
 * The generic task routes (SPEC "Generic tasks"), all admin: tasks are
 * submitted by the operator's own services. The dead-letter routes sit under
 * /v1/admin beside the other operator routes.
 */
const FINAL = new Set(["succeeded", "failed"]);

export function registerTaskRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  tasks: TaskService,
  admin: Guard,
): void {
  const timeoutMs = deps.requestTimeoutMs ?? 5000;
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
        body: submitTaskBody,
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
      const outcome = await withTimeout(
        tasks.submit(type, payload, request.headers["idempotency-key"]),
        timeoutMs,
      );
      if (outcome.kind === "unknown_type")
        throw new StampedeError("unknown_task_type", `No handler is registered for task type "${type}".`);
      if (outcome.kind === "invalid") throw new StampedeError("invalid_request", outcome.message);
      return reply.code(202).send({ taskId: outcome.taskId, status: "queued" });
    },
  );

  const findTask = async (taskId: string): Promise<TaskRecord> => {
    const task = await withTimeout(tasks.get(taskId), timeoutMs);
    if (!task) throw new StampedeError("task_not_found");
    return task;
  };

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
    async (request) => taskBody(await findTask(request.params.taskId)),
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
      const list = await withTimeout(tasks.deadLetters(limit, offset), timeoutMs);
      return { tasks: list.map(taskBody) };
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
      const task = await withTimeout(tasks.retryDeadLetter(request.params.taskId), timeoutMs);
      if (!task) throw new StampedeError("task_not_found", "No dead-lettered task with this id.");
      return reply.code(202).send(taskBody(task));
    },
  );

  registerTaskEvents(app, deps, tasks, admin, findTask);
}

function registerTaskEvents(
  app: FastifyInstance,
  deps: ApiDeps,
  tasks: TaskService,
  admin: Guard,
  findTask: (taskId: string) => Promise<TaskRecord>,
): void {
  const heartbeatMs = deps.sseHeartbeatMs ?? 15_000;
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
      const { taskId } = request.params;
      // Watch before reading, so a change that lands in between is not missed.
      const early: TaskRecord[] = [];
      let deliver: (task: TaskRecord) => void = (task) => early.push(task);
      const unwatch = await withTimeout(
        tasks.watch(taskId, (task) => deliver(task)),
        deps.requestTimeoutMs ?? 5000,
      );
      let task: TaskRecord;
      try {
        task = await findTask(taskId);
      } catch (error) {
        unwatch();
        throw error;
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-request-id": String(request.id),
        "x-accel-buffering": "no",
      });
      let finished = false;
      let lastSent = -1;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearInterval(heartbeat);
        unwatch();
        raw.end();
      };
      const send = (t: TaskRecord) => {
        // Changes can arrive out of order across processes; never step back.
        if (finished || t.updatedAt < lastSent) return;
        lastSent = t.updatedAt;
        raw.write(`event: status\ndata: ${JSON.stringify(taskBody(t))}\n\n`);
        if (FINAL.has(t.status)) finish();
      };
      const heartbeat = setInterval(() => raw.write(": heartbeat\n\n"), heartbeatMs);
      request.raw.on("close", finish);
      send(task);
      for (const t of early) send(t);
      deliver = send;
    },
  );
}
