#!/usr/bin/env bash
# Runs one benchmark scenario: bench/run.sh <scenario> [flags], a scenario being a file of
# bench/scenarios/ (bench/run.sh <scenario> --help lists its flags). Puts Node 24 on PATH, installs the
# locked dependencies if needed, raises the open-file limit for everything it starts, and runs the
# scenario; every scenario starts and stops its own servers, removes their data and stops at its deadline.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-}"
if [ -z "$scenario" ] || [ ! -f "bench/scenarios/$scenario.ts" ]; then
  echo "usage: bench/run.sh <scenario> [flags]; scenarios: $(cd bench/scenarios && ls ./*.ts | sed 's|./||; s|\.ts$||' | tr '\n' ' ')" >&2
  exit 2
fi
shift
# shellcheck source=scripts/node.sh
source scripts/node.sh
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
# A tree that already has its dependencies (e.g. a developer's) is used as it is.
[ -d node_modules/fastify ] || ensure_deps prod
# Every connection is a file descriptor, in the generator and in the server.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 65536 ]; then
  ulimit -n 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
fi
echo "bench: open-file limit $(ulimit -n) (hard $(ulimit -Hn)); Node $(node -v); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec node "bench/scenarios/$scenario.ts" "$@"
