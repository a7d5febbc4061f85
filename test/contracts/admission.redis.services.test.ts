import { streamSink } from "../../src/adapters/redis/streams/claims-sink.ts";
import { skipWithoutServices } from "../helpers/services.ts";
import { admissionContract } from "./admission.ts";
import { redisHarness } from "./admission-redis-harness.ts";

/** Distributed mode with QUEUE=redis: RedisAdmission, admitted claims appended to the campaign's stream. */
const skip = await skipWithoutServices();

admissionContract(
  "redis (stream sink)",
  (t, options) =>
    redisHarness(t, (redis, keys) => streamSink({ redis, keys, cap: 100_000 }), undefined, options),
  skip,
);
