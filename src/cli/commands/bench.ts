/** `stampede bench`: the load generator and invariant checker (src/bench/). */
export { bench } from "../../bench/bench.ts";
