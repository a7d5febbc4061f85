#!/usr/bin/env bash
# Source this file, then `ensure_deps dev` or `ensure_deps prod`: installs the
# locked dependencies only when the lockfile changed since the last install, or
# when dev tools are wanted and only production dependencies are there.
# `npm install --no-save` rather than `npm ci`: the registry mirror here lacks
# some platforms' optional packages (e.g. Biome's macOS binaries), so they are
# missing from the lockfile and `npm ci` refuses it; install still follows the
# lockfile for everything it holds and leaves it untouched.
ensure_deps() {
  local want="$1" stamp="node_modules/.stampede-deps" lock have=""
  lock="$(sha256sum package-lock.json | cut -c1-16)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ "$have" = "$lock dev" ] || { [ "$want" = prod ] && [ "$have" = "$lock prod" ]; }; then
    return 0
  fi
  if [ "$want" = dev ]; then
    npm install --no-save --no-audit --no-fund --loglevel=error
  else
    npm install --no-save --omit=dev --no-audit --no-fund --loglevel=error
  fi
  echo "$lock $want" >"$stamp"
}
