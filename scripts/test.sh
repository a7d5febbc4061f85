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
# The dashboard's browser test drives Debian's Chromium (a test tool's own browser download fails here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing Debian's chromium for the browser test" >&2
  sudo=""; if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
npm test
