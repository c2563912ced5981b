#!/usr/bin/env bash
# A private RabbitMQ broker for one checkout: Debian's rabbitmq-server run directly (no systemd),
# listening on loopback only, with every piece of state (cookie, mnesia, logs, epmd) under a folder
# of ours, so it never collides with a system broker or another checkout.
#
#   infra/rabbitmq.sh install          install Debian's rabbitmq-server when missing (idempotent)
#   infra/rabbitmq.sh start            start the broker (idempotent) and wait until it takes connections
#   infra/rabbitmq.sh stop             stop it and its private epmd
#   infra/rabbitmq.sh status           exit 0 when it runs
#
# Settings (environment): MAAS_RABBITMQ_PORT (AMQP, default 5672), MAAS_RABBITMQ_DIR (default
# .maas/rabbitmq-<port> under the checkout), MAAS_RABBITMQ_DIST_PORT (default port+20000),
# MAAS_RABBITMQ_EPMD_PORT (default port+10000).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${MAAS_RABBITMQ_PORT:-5672}
dir=${MAAS_RABBITMQ_DIR:-$root/.maas/rabbitmq-$port}
dist_port=${MAAS_RABBITMQ_DIST_PORT:-$((port + 20000))}
# A private epmd: a shared one would outlive us and tie our node names to a system-wide daemon.
epmd_port=${MAAS_RABBITMQ_EPMD_PORT:-$((port + 10000))}
node="maas$port@localhost"
bin=/usr/lib/rabbitmq/bin

log() { printf '[rabbitmq] %s\n' "$*" >&2; }

install_broker() {
  if [ -x "$bin/rabbitmq-server" ]; then return 0; fi
  log "installing Debian's rabbitmq-server (once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq rabbitmq-server >/dev/null
  # The package may try to start the system service; we only ever run our private node.
}

set_env() {
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  # The Erlang cookie must exist before the first CLI call, else each call stalls ~8 s.
  if [ ! -s "$dir/home/.erlang.cookie" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/home/.erlang.cookie"
    chmod 400 "$dir/home/.erlang.cookie"
  fi
  cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
loopback_users.guest = true
log.file.level = warning
CONF
  echo '[].' > "$dir/enabled_plugins"
  : > "$dir/rabbitmq-env.conf"
  export HOME="$dir/home"
  export RABBITMQ_NODENAME="$node"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_DIST_PORT="$dist_port"
  export ERL_EPMD_PORT="$epmd_port"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
  unset RABBITMQ_ALLOW_INPUT
}

running() {
  [ -f "$dir/rabbitmq.pid" ] && kill -0 "$(cat "$dir/rabbitmq.pid")" 2>/dev/null
}

start_broker() {
  install_broker
  set_env
  if running; then log "already running on 127.0.0.1:$port"; return 0; fi
  rm -f "$RABBITMQ_PID_FILE"
  log "starting node $node on 127.0.0.1:$port (state in $dir)"
  setsid "$bin/rabbitmq-server" > "$dir/log/console.log" 2>&1 < /dev/null &
  # rabbitmqctl wait blocks until the pid file appears and the app is running.
  if ! timeout 90 "$bin/rabbitmqctl" -n "$node" wait "$RABBITMQ_PID_FILE" --timeout 90 > /dev/null 2>&1; then
    log "broker did not start; last log lines:"; tail -20 "$dir/log/console.log" >&2 || true
    exit 1
  fi
  log "ready on 127.0.0.1:$port"
}

stop_broker() {
  set_env
  if running; then
    local pid; pid=$(cat "$RABBITMQ_PID_FILE")
    log "stopping node $node (pid $pid)"
    timeout 60 "$bin/rabbitmqctl" -n "$node" stop "$RABBITMQ_PID_FILE" > /dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$dir/rabbitmq.pid"
  # Our private epmd outlives the node; ask it to exit (only the one on our port).
  local epmd; epmd=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1 || true)
  [ -n "$epmd" ] && "$epmd" -port "$epmd_port" -kill > /dev/null 2>&1 || true
}

case "${1:-}" in
  install) install_broker ;;
  start) start_broker ;;
  stop) stop_broker ;;
  status) set_env; running ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
