#!/usr/bin/env bash
# Source this file, then `ensure_deps dev` or `ensure_deps prod`: installs the
# locked dependencies with `npm ci` only when the lockfile changed since the
# last install, or when dev tools are wanted and only production dependencies
# are there. `npm ci` installs exactly what package-lock.json says (it refuses
# a lockfile that disagrees with package.json) and starts from an empty
# node_modules, so nothing left over from another branch lingers.
ensure_deps() {
  local want="$1" stamp="node_modules/.stampede-deps" lock have=""
  lock="$(sha256sum package-lock.json | cut -c1-16)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ "$have" = "$lock dev" ] || { [ "$want" = prod ] && [ "$have" = "$lock prod" ]; }; then
    return 0
  fi
  if [ "$want" = dev ]; then
    npm ci --no-audit --no-fund --loglevel=error
  else
    npm ci --omit=dev --no-audit --no-fund --loglevel=error
  fi
  echo "$lock $want" >"$stamp"
}
