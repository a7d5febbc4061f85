/** `stampede bench`: the load generator and invariant checker (bench/engine/). */
export { bench } from "../../../bench/engine/bench.ts";
