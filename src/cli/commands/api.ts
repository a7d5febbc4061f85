import { runDistributed } from "./distributed-process.ts";

/** `stampede api`: an API process of distributed mode (Redis admission, Redis Streams queue, PostgreSQL). */
export const api = (argv: string[]): Promise<number> => runDistributed("api", argv);
