import { type DoctorCheck, fail, ok } from "../types.ts";

const NEED_MAJOR = 24;

export function nodeCheck(version = process.versions.node): DoctorCheck {
  return {
    name: "node",
    async run() {
      const major = Number(version.split(".")[0]);
      return [
        major >= NEED_MAJOR
          ? ok("node", `Node.js ${version}`)
          : fail(
              "node",
              `Node.js ${version} is too old (needs ${NEED_MAJOR}+)`,
              "run through scripts/start.sh, which fetches Node 24",
            ),
      ];
    },
  };
}
