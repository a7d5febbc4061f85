import { skipWithoutServices } from "../helpers/services.ts";
import { waitingRoomContract } from "./waiting-room.ts";
import { redisRoomHarness } from "./waiting-room-redis-harness.ts";

/** Distributed mode: RedisWaitingRoom beside RedisAdmission (stream sink). */
const skip = await skipWithoutServices();

waitingRoomContract("redis", (t, options) => redisRoomHarness(t, options), skip);
