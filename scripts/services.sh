#!/usr/bin/env bash
# Makes sure the services the tests use answer: Redis on 127.0.0.1:6379 and
# PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`). Starts them when
# they are installed but down; installs them (as root, Debian packages) when
# they are missing. Leaves running services exactly as they are.
#
#   scripts/services.sh          check, start or install, then wait until both answer
#   scripts/services.sh status   exit 0 when both answer, else 1 (changes nothing)
set -euo pipefail

REDIS_HOST=127.0.0.1 REDIS_PORT=6379
PG_HOST=127.0.0.1 PG_PORT=5432 PG_DB=test
WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-30}"

log() { echo "services: $*" >&2; }

redis_ok() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    # No client: speak the protocol by hand.
    exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" 2>/dev/null || return 1
    printf 'PING\r\n' >&3
    local reply=""
    read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ "$reply" == +PONG* ]]
  fi
}

pg_ok() {
  command -v psql >/dev/null 2>&1 || return 1
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d "$PG_DB" -tAc 'SELECT 1' >/dev/null 2>&1
}

wait_for() {
  local name="$1" probe="$2" i
  for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
    if "$probe"; then return 0; fi
    sleep 0.1
  done
  log "$name does not answer after ${WAIT_SECONDS}s"
  return 1
}

install_packages() {
  if [ "$(id -u)" -ne 0 ]; then
    log "cannot install $* without root; install them and run this again"
    exit 1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null || {
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null
  }
}

ensure_redis() {
  if redis_ok; then return 0; fi
  command -v redis-server >/dev/null 2>&1 || install_packages redis-server
  # Installing may have started it already.
  if redis_ok; then return 0; fi
  log "starting redis-server on $REDIS_HOST:$REDIS_PORT"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis redis_ok
}

ensure_postgres() {
  if pg_ok; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    install_packages postgresql
  fi
  if ! pg_ok; then
    local version
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    log "starting PostgreSQL $version (cluster main)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for postgresql pg_server_ok
  fi
  # Trust auth on 127.0.0.1 and the `test` database, as the tests expect.
  if ! pg_ok; then
    local hba
    hba="$(su postgres -c "psql -tAc 'SHOW hba_file'")"
    if ! grep -q "stampede-tests" "$hba"; then
      log "allowing trust auth for local TCP connections (tests only machine)"
      sed -i '1i host all all 127.0.0.1/32 trust # stampede-tests\nhost all all ::1/128 trust # stampede-tests' "$hba"
      su postgres -c "psql -qc 'SELECT pg_reload_conf()'" >/dev/null
    fi
    su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = '$PG_DB'\"" | grep -q 1 ||
      su postgres -c "createdb $PG_DB"
    wait_for postgresql pg_ok
  fi
}

pg_server_ok() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -h "$PG_HOST" -p "$PG_PORT" -q
}

case "${1:-ensure}" in
  status)
    redis_ok && pg_ok
    ;;
  ensure)
    ensure_redis
    ensure_postgres
    log "redis $REDIS_HOST:$REDIS_PORT and postgresql $PG_HOST:$PG_PORT/$PG_DB answer"
    ;;
  *)
    echo "usage: $0 [ensure|status]" >&2
    exit 2
    ;;
esac
