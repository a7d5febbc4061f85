#!/usr/bin/env bash
# The test command (README). Works on a fresh clone: fetches Node 24, installs
# the locked dependencies, makes sure the services the tests use answer, then
# runs format + lint, the type checker and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node.sh
source scripts/node.sh

# shellcheck source=scripts/deps.sh
source scripts/deps.sh
ensure_deps dev
if [ -x scripts/services.sh ]; then scripts/services.sh; fi
npm test
