#!/usr/bin/env bash
# Runs a real Apache Kafka broker on this machine, without Docker: one node, or a cluster of
# N nodes (--brokers N), each node broker and controller of a static KRaft quorum.
#
#   scripts/kafka.sh start         fetch jars if needed, format FRESH storage, start, wait until ready
#   scripts/kafka.sh status        print host:port[,...] and exit 0 if every broker answers, else exit 1
#   scripts/kafka.sh stop          SIGTERM, wait, SIGKILL after a timeout; exit 0 if not running
#   scripts/kafka.sh kill9         kill -9 the broker (fault tests); with --brokers N, --node I picks one
#   scripts/kafka.sh restart-keep  start again on the EXISTING storage (after kill9/stop); --node I likewise
#   scripts/kafka.sh run-class MAIN [ARGS...]
#                                  run a Java main class from the same jars, e.g.
#                                  org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list
#
# A cluster: `scripts/kafka.sh start --brokers 3` (and the same --brokers 3 on status, stop,
# kill9 --node I, restart-keep --node I). Node I listens on KAFKA_PORT+I-1 and
# KAFKA_CONTROLLER_PORT+I-1, with its own folder STATE_DIR/node-I; internal topics get
# replication factor min(3, N) and min ISR 2 from 3 nodes on, as stampede's topics do.
# Its defaults stay clear of the single broker's: ports 19192.. and 19292.., state
# /tmp/stampede-kafka-cluster, heap -Xms256m -Xmx512m per node.
#
# Why this way: Debian and npm carry no Kafka broker and Docker is not available, but Apache
# Kafka publishes its broker on Maven Central and this machine has Java 17 and Maven. Maven
# resolves the broker's runtime classpath from a tiny generated pom; the broker is then started
# as `java -cp '<jars>/*' kafka.Kafka server.properties`, just like Kafka's own bin scripts do.
#
# Environment (all optional):
#   KAFKA_VERSION          Kafka version on Maven Central (default 4.1.2; 4.x only, see log4j below)
#   KAFKA_CACHE_DIR        where the jars go (default $HOME/.cache/stampede/kafka-$KAFKA_VERSION)
#   KAFKA_STATE_DIR        configs, data, log and pid file (default /tmp/stampede-kafka)
#   KAFKA_PORT             PLAINTEXT port on 127.0.0.1 (default 19092)
#   KAFKA_CONTROLLER_PORT  KRaft CONTROLLER port on 127.0.0.1 (default 19093)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 120)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#   KAFKA_HEAP_OPTS        JVM heap flags (default "-Xms512m -Xmx1g"; a cluster's nodes "-Xms256m -Xmx512m")
set -euo pipefail

# --brokers N and --node I, anywhere after the command.
COMMAND="${1:-}"
[[ $# -gt 0 ]] && shift
BROKERS=1
NODE=""
ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --brokers) BROKERS="${2:-}"; shift 2 ;;
    --node) NODE="${2:-}"; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[[ "$BROKERS" =~ ^[1-9]$ ]] || { echo "kafka.sh: --brokers takes 1 to 9" >&2; exit 2; }

KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
# Kafka 4.1 is built against log4j 2.24.3. The binding (log4j-slf4j-impl, for slf4j 1.7) is
# only shipped in Kafka's release tarball, not in the broker's POM, so we add it ourselves and
# pin log4j-api/-core to the same version so Maven cannot mix versions.
LOG4J_VERSION="2.24.3"
CACHE_DIR="${KAFKA_CACHE_DIR:-${HOME}/.cache/stampede/kafka-${KAFKA_VERSION}}"
HOST="127.0.0.1"
if ((BROKERS == 1)); then
  STATE_DIR="${KAFKA_STATE_DIR:-/tmp/stampede-kafka}"
  BASE_PORT="${KAFKA_PORT:-19092}"
  BASE_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
  HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}"
else
  STATE_DIR="${KAFKA_STATE_DIR:-/tmp/stampede-kafka-cluster}"
  BASE_PORT="${KAFKA_PORT:-19192}"
  BASE_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19292}"
  HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
fi
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

LIB_DIR="${CACHE_DIR}/lib"
COMPLETE_MARKER="${CACHE_DIR}/.complete"
BROKER_LOG4J="${STATE_DIR}/log4j2-broker.properties"
TOOLS_LOG4J="${STATE_DIR}/log4j2-tools.properties"

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

for n in "$BASE_PORT" "$BASE_CONTROLLER_PORT" "$START_TIMEOUT" "$STOP_TIMEOUT"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "not a number: '$n' (check KAFKA_PORT/KAFKA_CONTROLLER_PORT/*_TIMEOUT)"
done

# Points the per-node variables at node I (1..BROKERS). A single broker keeps the layout it
# always had (everything straight in STATE_DIR); a cluster's node I lives in STATE_DIR/node-I.
select_node() {
  NODE_ID=$1
  PORT=$((BASE_PORT + NODE_ID - 1))
  CONTROLLER_PORT=$((BASE_CONTROLLER_PORT + NODE_ID - 1))
  if ((BROKERS == 1)); then NODE_DIR="$STATE_DIR"; else NODE_DIR="${STATE_DIR}/node-${NODE_ID}"; fi
  DATA_DIR="${NODE_DIR}/data"
  SERVER_PROPS="${NODE_DIR}/server.properties"
  BROKER_LOG="${NODE_DIR}/broker.log"
  PID_FILE="${NODE_DIR}/broker.pid"
}

nodes() { seq 1 "$BROKERS"; }

# host:port of every broker, comma separated: KAFKA_BROKERS.
bootstrap() {
  local i list=""
  for i in $(nodes); do list+="${list:+,}${HOST}:$((BASE_PORT + i - 1))"; done
  echo "$list"
}

# The node --node names (kill9, restart-keep); 1 for a single broker.
chosen_node() {
  if ((BROKERS == 1)); then echo 1; return; fi
  [[ "$NODE" =~ ^[0-9]+$ ]] && ((NODE >= 1 && NODE <= BROKERS)) || die "--node I (1..${BROKERS}) is required with --brokers ${BROKERS}"
  echo "$NODE"
}

select_node 1

# --- jars -------------------------------------------------------------------------------------

# Fetches the broker's runtime classpath into $LIB_DIR once; the marker file is written only
# after a complete copy, so an interrupted download is simply redone.
fetch_jars() {
  if [[ -d "$LIB_DIR" && "$(cat "$COMPLETE_MARKER" 2>/dev/null)" == "$KAFKA_VERSION" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch Kafka jars)"
  command -v java >/dev/null || die "java not found (Kafka needs Java 17+)"
  log "fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${CACHE_DIR} (one time)"
  mkdir -p "$CACHE_DIR"
  # kafka_2.13 is the broker (kafka.Kafka, kafka.tools.StorageTool). kafka-tools holds the admin
  # and console tools (TopicCommand, ConsoleProducer, BrokerApiVersionsCommand, ...); its
  # connect-runtime dependency (Jetty, Jersey, ~40 jars) is only for Kafka Connect's
  # ConnectPluginPath tool, so it is excluded.
  cat >"${CACHE_DIR}/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by stampede scripts/kafka.sh: only used to resolve Kafka's runtime jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.stampede</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>${KAFKA_VERSION}</version>
      <exclusions>
        <exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion>
        <exclusion><groupId>com.fasterxml.jackson.jakarta.rs</groupId><artifactId>jackson-jakarta-rs-json-provider</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-api</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
  # Copy into a scratch folder and rename, so $LIB_DIR never holds a half-finished set.
  rm -rf "${LIB_DIR}.tmp"
  # Maven's output goes to a log shown only on failure (even -q -B prints stray colour codes).
  if ! mvn -q -B -f "${CACHE_DIR}/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="${LIB_DIR}.tmp" >"${CACHE_DIR}/mvn.log" 2>&1; then
    tail -n 40 "${CACHE_DIR}/mvn.log" >&2
    die "maven could not fetch Kafka ${KAFKA_VERSION} (is Maven Central reachable?)"
  fi
  [[ -f "${LIB_DIR}.tmp/kafka_2.13-${KAFKA_VERSION}.jar" ]] || die "kafka_2.13-${KAFKA_VERSION}.jar missing after fetch"
  rm -rf "$LIB_DIR"
  mv "${LIB_DIR}.tmp" "$LIB_DIR"
  echo "$KAFKA_VERSION" >"$COMPLETE_MARKER"
}

# --- config -----------------------------------------------------------------------------------

write_log4j_configs() {
  mkdir -p "$STATE_DIR"
  # One console appender: the broker's stdout is redirected to $BROKER_LOG, so everything lands in
  # one file that `start` can tail on failure. Properties format needs no YAML jar on the classpath.
  cat >"$BROKER_LOG4J" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = STDOUT
# Per-request and state-change chatter would swamp the log under load tests.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
  # Command-line tools: warnings only, on stderr, so their stdout stays machine-readable.
  cat >"$TOOLS_LOG4J" <<'EOF'
status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
EOF
}

write_server_props() {
  # Every node is broker and controller, with a static quorum (controller.quorum.voters), so
  # `StorageTool format` needs no --standalone/--initial-controllers. Internal topics get
  # replication factor min(3, nodes) and min ISR 2 from 3 nodes on (1 below), and few
  # partitions (creating 50 for __consumer_offsets or __transaction_state on first use is slow).
  local i voters="" rf=$((BROKERS < 3 ? BROKERS : 3)) isr=$((BROKERS >= 3 ? 2 : 1))
  for i in $(nodes); do voters+="${voters:+,}${i}@${HOST}:$((BASE_CONTROLLER_PORT + i - 1))"; done
  mkdir -p "$NODE_DIR"
  cat >"$SERVER_PROPS" <<EOF
process.roles=broker,controller
node.id=${NODE_ID}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://${HOST}:${PORT},CONTROLLER://${HOST}:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://${HOST}:${PORT}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${DATA_DIR}
num.partitions=1
default.replication.factor=${rf}
min.insync.replicas=${isr}
offsets.topic.replication.factor=${rf}
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=${rf}
transaction.state.log.min.isr=${isr}
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=${rf}
share.coordinator.state.topic.min.isr=${isr}
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# After kill -9 the controller refuses the restarted broker (DUPLICATE_BROKER_REGISTRATION) until
# the dead incarnation's session expires: 9 s by default, which made restart-keep take ~16 s.
# 5 s with 1 s heartbeats still tolerates multi-second stalls on a loaded 2-core machine.
broker.session.timeout.ms=5000
broker.heartbeat.interval.ms=1000
EOF
}

# A KRaft cluster id is 16 random bytes in unpadded base64url (what `StorageTool random-uuid`
# prints); done in shell to save a JVM start. Kafka's own generator rejects ids starting with '-'
# (they look like command-line flags), so we do too.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* && ${#id} -eq 22 ]] && { echo "$id"; return; }
  done
}

# --- process helpers --------------------------------------------------------------------------

# Runs a command-line tool (main class + args) from the jars; tools get a small heap.
java_run() {
  java -Xmx512m -Dlog4j2.configurationFile="$TOOLS_LOG4J" -cp "${LIB_DIR}/*" "$@"
}

# Prints the pid of the broker this script started (for this state dir), or fails. Checking the
# command line guards against a stale pid file whose pid was reused by another process.
broker_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(<"$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/${pid}/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "kafka.Kafka ${SERVER_PROPS}" || return 1
  echo "$pid"
}

# Is anything listening on 127.0.0.1:$1?
port_open() {
  (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null
}

# Readiness probe without a JVM (a Java tool costs seconds of CPU per poll on this small
# machine): send a real Kafka Metadata request (v4, all topics) over bash's /dev/tcp and check
# that the reply echoes our correlation id and lists exactly BROKERS brokers (a single broker:
# one, node 1, us). A broker only accepts client connections once it is caught up and unfenced,
# and lists the brokers the quorum knows alive, so an answer listing them all means ready.
# Request: size=15 | api_key=3 | api_version=4 | correlation_id="STKA" | client_id=null(-1)
#          | topics=null(-1, all) | allow_auto_topic_creation=false.
# Reply:   size | correlation_id | throttle_time_ms | brokers.count | brokers[0].node_id ...
metadata_ok() {
  local reply
  # shellcheck disable=SC2016  # expanded by the inner bash, on purpose
  reply="$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "\x00\x00\x00\x0f\x00\x03\x00\x04\x53\x54\x4b\x41\xff\xff\xff\xff\xff\xff\x00" >&3
    head -c 20 <&3 | od -An -tx1' _ "$HOST" "$PORT" 2>/dev/null)" || return 1
  reply="$(tr -d ' \n' <<<"$reply")"
  if ((BROKERS == 1)); then
    [[ "$reply" =~ ^[0-9a-f]{8}53544b41[0-9a-f]{8}0000000100000001$ ]]
  else
    [[ "$reply" =~ ^[0-9a-f]{8}53544b41[0-9a-f]{8}0000000${BROKERS}[0-9a-f]{8}$ ]]
  fi
}

tail_log() {
  if [[ -f "$BROKER_LOG" ]]; then
    log "last lines of ${BROKER_LOG}:"
    tail -n 40 "$BROKER_LOG" >&2
  fi
}

# Starts the selected node's JVM in the background.
launch() {
  local heap
  read -r -a heap <<<"$HEAP_OPTS"
  # setsid: own session, so a Ctrl-C or the end of the calling shell/test runner does not kill
  # the broker; nohup for the same reason w.r.t. SIGHUP. The inner bash writes its own pid and
  # then execs java, so the pid file holds the JVM's pid whatever setsid does about forking.
  # 9>&- keeps the start/stop lock (fd 9) out of the long-lived JVM.
  # shellcheck disable=SC2016  # expanded by the inner bash, on purpose
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PID_FILE" \
    java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$BROKER_LOG4J" \
    -cp "${LIB_DIR}/*" kafka.Kafka "$SERVER_PROPS" \
    >>"$BROKER_LOG" 2>&1 </dev/null 9>&- &
  # Not our job to reap it (and no "Killed" job notice if a failed start kills it).
  disown
}

# Waits until the selected node serves requests (listing every broker of the cluster).
wait_ready() {
  local pid deadline started=$SECONDS
  deadline=$((SECONDS + START_TIMEOUT))
  # Poll (not a fixed sleep) until the broker answers; bail out early if the JVM died.
  while ((SECONDS < deadline)); do
    if metadata_ok; then
      pid="$(broker_pid)" || true
      log "broker ${NODE_ID} up at ${HOST}:${PORT} (pid ${pid:-?}, state ${NODE_DIR}) after $((SECONDS - started))s"
      return 0
    fi
    # (kill -0, not broker_pid: for a moment the pid is still the bash that execs java.)
    if [[ -s "$PID_FILE" ]] && ! kill -0 "$(<"$PID_FILE")" 2>/dev/null; then
      tail_log
      die "broker process exited during startup"
    fi
    sleep 0.5
  done
  tail_log
  # Do not leave a half-started JVM eating CPU behind a failed start.
  if pid="$(broker_pid)"; then
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$PID_FILE"
  fi
  die "broker did not answer at ${HOST}:${PORT} within ${START_TIMEOUT}s (killed it; see ${BROKER_LOG})"
}

# If the selected node is already running: succeed when it answers (no-op), or wait for it
# (another `start` may be bringing it up). Returns 1 if it is not running.
node_running() {
  local pid deadline
  pid="$(broker_pid)" || return 1
  deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if metadata_ok; then return 0; fi
    broker_pid >/dev/null || { tail_log; die "broker ${NODE_ID} (pid ${pid}) exited while starting"; }
    sleep 0.5
  done
  tail_log
  die "broker ${NODE_ID} (pid ${pid}) is running but not answering at ${HOST}:${PORT}"
}

# Every node already running and answering: print the bootstrap list. Returns 1 when none is
# running; fails when only some are (stop them first).
already_running() {
  local i up=0
  for i in $(nodes); do
    select_node "$i"
    if broker_pid >/dev/null; then up=$((up + 1)); fi
  done
  ((up == 0)) && return 1
  ((up == BROKERS)) || die "${up} of ${BROKERS} brokers are running in ${STATE_DIR}; run stop first"
  for i in $(nodes); do
    select_node "$i"
    node_running
  done
  log "already running at $(bootstrap)"
  bootstrap
}

check_ports_free() {
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port ${HOST}:${p} is already in use by another process (set KAFKA_PORT/KAFKA_CONTROLLER_PORT)"
    fi
  done
}

# Serialise start/stop for one state dir, so two test files calling `start` at once do not race
# on formatting or the pid file. The lock file lives in the state dir, which is never deleted.
take_lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"${STATE_DIR}/.lock"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 60)) 9 || die "timed out waiting for ${STATE_DIR}/.lock"
}

# --- commands ---------------------------------------------------------------------------------

cmd_start() {
  local i cluster_id started=$SECONDS
  take_lock
  already_running && return 0
  fetch_jars
  for i in $(nodes); do
    select_node "$i"
    check_ports_free
  done
  write_log4j_configs
  cluster_id="$(new_cluster_id)"
  # FRESH storage every start: tests get an empty cluster with a new cluster id.
  for i in $(nodes); do
    select_node "$i"
    rm -f "$PID_FILE"
    rm -rf "$DATA_DIR"
    mkdir -p "$NODE_DIR"
    : >"$BROKER_LOG"
    write_server_props
    java_run kafka.tools.StorageTool format -t "$cluster_id" -c "$SERVER_PROPS" \
      --ignore-formatted >>"$BROKER_LOG" 2>&1 || { tail_log; die "formatting storage failed"; }
  done
  # Every node at once: a quorum of several controllers forms only once a majority is up.
  for i in $(nodes); do
    select_node "$i"
    launch
  done
  for i in $(nodes); do
    select_node "$i"
    wait_ready
  done
  ((BROKERS == 1)) || log "${BROKERS} brokers up in $((SECONDS - started))s (state ${STATE_DIR})"
  bootstrap
}

cmd_restart_keep() {
  take_lock
  select_node "$(chosen_node)"
  if broker_pid >/dev/null; then
    node_running
    bootstrap
    return 0
  fi
  [[ -f "${DATA_DIR}/meta.properties" && -f "$SERVER_PROPS" ]] \
    || die "no formatted storage in ${NODE_DIR}; run 'start' first"
  fetch_jars
  check_ports_free
  rm -f "$PID_FILE"
  # Keep data and config as they are (the ports must match the existing config anyway).
  write_log4j_configs
  log "restarting broker ${NODE_ID} on existing storage in ${DATA_DIR}"
  echo "----- restart-keep $(date -Is) -----" >>"$BROKER_LOG"
  launch
  wait_ready
  bootstrap
}

cmd_status() {
  local i
  for i in $(nodes); do
    select_node "$i"
    broker_pid >/dev/null && metadata_ok || return 1
  done
  bootstrap
}

stop_node() {
  local pid deadline
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    return 0
  fi
  # SIGTERM lets Kafka shut down cleanly (flush logs, write the clean-shutdown marker).
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker ${NODE_ID} (pid ${pid}) still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
}

cmd_stop() {
  local i pids=()
  take_lock
  # A cluster's nodes stop together: stopped one by one, the last ones would wait for a
  # controller quorum that is gone before giving up.
  for i in $(nodes); do
    select_node "$i"
    stop_node &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  log "broker(s) stopped"
}

cmd_kill9() {
  local pid
  # No lock: a fault test may kill the broker at any moment, even while another command waits.
  select_node "$(chosen_node)"
  if ! pid="$(broker_pid)"; then
    log "broker ${NODE_ID} not running"
    return 0
  fi
  kill -KILL "$pid"
  # Wait until the process is gone, so the ports are free for an immediate restart-keep.
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$PID_FILE"
  log "broker ${NODE_ID} (pid ${pid}) killed with SIGKILL"
}

cmd_run_class() {
  (($# >= 1)) || die "usage: $0 run-class MAIN_CLASS [ARGS...]"
  fetch_jars
  write_log4j_configs
  java_run "$@"
}

case "$COMMAND" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill9) cmd_kill9 ;;
  restart-keep) cmd_restart_keep ;;
  run-class) cmd_run_class "${ARGS[@]}" ;;
  *)
    echo "usage: $0 start|stop|status|kill9|restart-keep [--brokers N] [--node I] | run-class MAIN [ARGS...]" >&2
    exit 2
    ;;
esac
