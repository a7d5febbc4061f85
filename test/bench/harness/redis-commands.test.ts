import assert from "node:assert/strict";
import { test } from "node:test";
import { commandsIn, formatRedisCommands } from "../../../bench/harness/redis-commands.ts";

test("the command counter's series are summed across roles and connections", () => {
  const text = [
    "# HELP stampede_redis_commands_total commands",
    "# TYPE stampede_redis_commands_total counter",
    'stampede_redis_commands_total{role="api",connection="commands"} 1200',
    'stampede_redis_commands_total{role="api",connection="subscriber"} 3',
    'stampede_http_requests_total{route="/x"} 99',
  ].join("\n");
  assert.equal(commandsIn(text), 1203);
  assert.equal(commandsIn("nothing here"), 0);
});

test("per process: commands per admitted claim and per request", () => {
  const line = formatRedisCommands({
    perProcess: {
      "stampede api #1": { commands: 1000, perAdmitted: 1, perRequest: 0.01 },
      "stampede worker #1": { commands: 40, perAdmitted: undefined, perRequest: 0.0004 },
    },
  });
  assert.equal(line, " redis cmds api #1 1.00/202 0.010/req, worker #1 0.000/req");
});
