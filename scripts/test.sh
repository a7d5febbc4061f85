#!/usr/bin/env bash
# The test command (README). Works on a fresh clone: fetches Node 24, installs
# the locked dependencies, makes sure the services the tests use answer, then
# runs `npm test`: lint, the type checker and the three test tiers, unit,
# services and e2e (test/README.md), stopping at the first that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/node.sh
source scripts/node.sh

# shellcheck source=scripts/deps.sh
source scripts/deps.sh
ensure_deps dev
if [ -x scripts/services.sh ]; then scripts/services.sh; fi
# A spike opens thousands of connections at once; with the default listen
# queue (somaxconn 4096) the kernel drops SYNs and clients wait a second or
# more for each retransmit. Raise it when allowed (root), say so when not.
# Loopback bursts beyond netdev_max_backlog (1000 by default) are dropped too.
if [ "$(sysctl -n net.core.somaxconn 2>/dev/null || echo 0)" -lt 65535 ] ||
  [ "$(sysctl -n net.core.netdev_max_backlog 2>/dev/null || echo 0)" -lt 16384 ]; then
  sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 net.core.netdev_max_backlog=16384 \
    2>/dev/null || echo "note: cannot raise the kernel's listen queues; spike tests may see SYN retransmits" >&2
fi
# The dashboard's browser test drives Debian's Chromium (a test tool's own browser download fails here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing Debian's chromium for the browser test" >&2
  sudo=""; if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# Kafka (the QUEUE=kafka tests run against a real broker): the one KAFKA_BROKERS
# names, or the project's own single-node broker (scripts/kafka.sh), started
# here when it is not running and stopped again when the tests end.
if [ -z "${KAFKA_BROKERS:-}" ]; then
  if broker="$(scripts/kafka.sh status 2>/dev/null)"; then
    echo "test.sh: using the running Kafka broker at ${broker}" >&2
  else
    if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
      echo "test.sh: installing Java 17 and Maven for the Kafka broker" >&2
      sudo=""; if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
      $sudo apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
    fi
    broker="$(scripts/kafka.sh start | tail -n 1)"
    trap 'scripts/kafka.sh stop >/dev/null 2>&1 || true' EXIT
  fi
  export KAFKA_BROKERS="$broker"
fi
npm test
