#!/usr/bin/env bash
# Runs a Redis Cluster of 3 masters and 3 replicas on 127.0.0.1 from Debian's redis-server,
# for development and the cluster tests (docs/scaling.md). No Docker.
#
#   scripts/redis-cluster.sh start         FRESH cluster: 6 nodes, slots over 3 masters, 1 replica
#                                          each; waits until cluster_state:ok with every replica in
#                                          sync; prints the REDIS_URL to use
#   scripts/redis-cluster.sh status        prints the REDIS_URL (seed nodes) and the masters;
#                                          exit 0 when cluster_state is ok, else 1
#   scripts/redis-cluster.sh stop          SHUTDOWN NOSAVE every node (SIGKILL after a timeout)
#   scripts/redis-cluster.sh kill9 PORT    kill -9 one node (fault tests)
#   scripts/redis-cluster.sh restart PORT  starts a killed node again (it rejoins, as a replica
#                                          when its replica was promoted meanwhile)
#
# Environment (all optional):
#   REDIS_CLUSTER_PORT          first port (default 7100): nodes on PORT..PORT+5, cluster bus on
#                               PORT+10000..PORT+10005
#   REDIS_CLUSTER_DIR           data, logs, pid files (default /tmp/stampede-redis-cluster)
#   REDIS_CLUSTER_NODE_TIMEOUT  cluster-node-timeout in ms (default 2000: a master is replaced
#                               about 2-4 s after it dies; Redis's own default is 15000)
#   REDIS_CLUSTER_APPENDFSYNC   always | everysec | no (default everysec; appendonly is on)
#   REDIS_CLUSTER_START_TIMEOUT seconds to wait for cluster_state:ok (default 30)
set -euo pipefail

HOST="127.0.0.1"
BASE_PORT="${REDIS_CLUSTER_PORT:-7100}"
STATE_DIR="${REDIS_CLUSTER_DIR:-/tmp/stampede-redis-cluster}"
NODE_TIMEOUT="${REDIS_CLUSTER_NODE_TIMEOUT:-2000}"
APPENDFSYNC="${REDIS_CLUSTER_APPENDFSYNC:-everysec}"
START_TIMEOUT="${REDIS_CLUSTER_START_TIMEOUT:-30}"
NODES=6

log() { echo "redis-cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

for n in "$BASE_PORT" "$NODE_TIMEOUT" "$START_TIMEOUT"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "not a number: '$n' (check REDIS_CLUSTER_PORT/*_TIMEOUT)"
done
[[ "$APPENDFSYNC" =~ ^(always|everysec|no)$ ]] || die "REDIS_CLUSTER_APPENDFSYNC: always | everysec | no"
command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install redis-tools)"

ports() { seq "$BASE_PORT" $((BASE_PORT + NODES - 1)); }
node_dir() { echo "${STATE_DIR}/$1"; }
cli() { redis-cli -h "$HOST" -p "$1" "${@:2}"; }

# The pid of the node this script started on PORT, or failure. The command line check guards
# against a stale pid file whose pid was reused.
node_pid() {
  local file pid
  file="$(node_dir "$1")/redis.pid"
  [[ -f "$file" ]] || return 1
  pid="$(<"$file")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/${pid}/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "redis-server ${HOST}:$1" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null; }

seeds() {
  local list=""
  for p in $(ports); do list+="${list:+,}${HOST}:${p}"; done
  echo "redis+cluster://${list}"
}

# Starts one node on its existing directory (daemonized: redis-server forks and writes its pid).
# 9>&- keeps the start/stop lock (fd 9) out of the long-lived server.
launch() {
  local port=$1 dir
  dir="$(node_dir "$port")"
  mkdir -p "$dir"
  redis-server --port "$port" --bind "$HOST" --daemonize yes \
    --dir "$dir" --pidfile "${dir}/redis.pid" --logfile "${dir}/redis.log" \
    --cluster-enabled yes --cluster-config-file "${dir}/nodes.conf" \
    --cluster-node-timeout "$NODE_TIMEOUT" \
    --cluster-require-full-coverage no \
    --appendonly yes --appendfsync "$APPENDFSYNC" --save "" \
    --protected-mode no 9>&-
  local deadline=$((SECONDS + 10))
  until [[ "$(cli "$port" ping 2>/dev/null)" == "PONG" ]]; do
    ((SECONDS < deadline)) || die "node ${port} did not answer (see ${dir}/redis.log)"
    sleep 0.05
  done
}

# cluster_state:ok on every running node, every slot assigned, every replica's link up.
healthy() {
  local p info
  for p in $(ports); do
    node_pid "$p" >/dev/null || continue
    info="$(cli "$p" cluster info 2>/dev/null)" || return 1
    grep -q "cluster_state:ok" <<<"$info" || return 1
    grep -q "cluster_slots_assigned:16384" <<<"$info" || return 1
    if cli "$p" info replication 2>/dev/null | grep -q "role:slave"; then
      cli "$p" info replication | grep -q "master_link_status:up" || return 1
    fi
  done
}

wait_healthy() {
  local deadline=$((SECONDS + START_TIMEOUT))
  until healthy; do
    ((SECONDS < deadline)) || die "the cluster is not ok after ${START_TIMEOUT}s (logs in ${STATE_DIR}/*/redis.log)"
    sleep 0.1
  done
}

take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"${STATE_DIR}/.lock"
  flock -w $((START_TIMEOUT + 30)) 9 || die "timed out waiting for ${STATE_DIR}/.lock"
}

cmd_start() {
  local started=$SECONDS p addresses=()
  take_lock
  for p in $(ports); do
    if node_pid "$p" >/dev/null; then die "node ${p} is already running; run stop first"; fi
    if port_open "$p" || port_open $((p + 10000)); then
      die "port ${p} or ${p}+10000 is in use by another process (set REDIS_CLUSTER_PORT)"
    fi
  done
  # FRESH: no data, no nodes.conf from an earlier cluster.
  for p in $(ports); do rm -rf "$(node_dir "$p")"; done
  for p in $(ports); do
    launch "$p"
    addresses+=("${HOST}:${p}")
  done
  # The first three become masters, each of the last three a replica of one of them.
  cli "$BASE_PORT" --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes \
    >"${STATE_DIR}/create.log" 2>&1 || { cat "${STATE_DIR}/create.log" >&2; die "cluster create failed"; }
  wait_healthy
  log "cluster ok in $((SECONDS - started))s (3 masters, 3 replicas, state ${STATE_DIR})"
  seeds
}

cmd_status() {
  local p
  cli "$BASE_PORT" cluster info 2>/dev/null | grep -q "cluster_state:ok" || {
    for p in $(ports); do
      if cli "$p" cluster info 2>/dev/null | grep -q "cluster_state:ok"; then break; fi
      p=""
    done
    [[ -n "${p:-}" ]] || return 1
  }
  seeds
  # Masters with their slot ranges, from any node that answers.
  for p in $(ports); do
    if cli "$p" cluster nodes >/dev/null 2>&1; then
      cli "$p" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ { split($2, a, "@"); printf "master %s slots %s\n", a[1], $9 }' >&2
      break
    fi
  done
}

# Waits until the node on PORT is gone. (Not kill -0: a daemonized server that exited stays a
# zombie until the init process reaps it, which can take seconds in a container.)
wait_gone() {
  local deadline=$((SECONDS + ${2:-10}))
  while node_pid "$1" >/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  ! node_pid "$1" >/dev/null
}

cmd_stop() {
  local p pid
  take_lock
  for p in $(ports); do
    pid="$(node_pid "$p")" || continue
    # NOW: a master does not wait for lagging replicas (the data is thrown away anyway).
    cli "$p" shutdown nosave now >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  done
  for p in $(ports); do
    pid="$(node_pid "$p")" || continue
    wait_gone "$p" 10 || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$(node_dir "$p")/redis.pid"
  done
  log "cluster stopped"
}

cmd_kill9() {
  local port=${1:-} pid
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 kill9 PORT"
  pid="$(node_pid "$port")" || { log "node ${port} not running"; return 0; }
  kill -KILL "$pid"
  wait_gone "$port" 10
  rm -f "$(node_dir "$port")/redis.pid"
  log "node ${port} (pid ${pid}) killed with SIGKILL"
}

cmd_restart() {
  local port=${1:-}
  [[ "$port" =~ ^[0-9]+$ ]] || die "usage: $0 restart PORT"
  take_lock
  node_pid "$port" >/dev/null && { log "node ${port} already running"; return 0; }
  [[ -f "$(node_dir "$port")/nodes.conf" ]] || die "node ${port} has no cluster state; run start first"
  launch "$port"
  wait_healthy
  log "node ${port} back"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill9) cmd_kill9 "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  *)
    echo "usage: $0 start|stop|status|kill9 PORT|restart PORT" >&2
    exit 2
    ;;
esac
