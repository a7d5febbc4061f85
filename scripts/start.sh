#!/usr/bin/env bash
# Installs what stampede needs (Node 24, the locked dependencies) and starts it
# in its embedded default: `./scripts/start.sh` or `./scripts/start.sh <command> [flags]`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node.sh
source scripts/node.sh
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
ensure_deps prod
if [ $# -eq 0 ]; then set -- start; fi
exec node bin/stampede.js "$@"
