import { runDistributed } from "./distributed-process.ts";

/** `stampede worker`: a worker process of distributed mode (claims stream -> PostgreSQL). */
export const worker = (argv: string[]): Promise<number> => runDistributed("worker", argv);
