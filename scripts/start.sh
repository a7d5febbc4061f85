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
# The distributed processes keep no claims in memory: bound V8's heap so that
# garbage is collected instead of piling up (measured: 560 MB RSS without,
# 280 MB with, at 300,000 users; docs/operations.md "Memory"). Not for
# `start`: the embedded mode holds its campaigns' claims in memory.
case "$1" in
  api | worker)
    case "${NODE_OPTIONS:-}" in
      *max-old-space-size*) ;;
      *) export NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=200 --max-semi-space-size=16" ;;
    esac
    ;;
esac
exec node bin/stampede.js "$@"
