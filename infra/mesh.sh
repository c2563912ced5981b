#!/usr/bin/env bash
# Starts and stops the local mesh: the broker and every service as its own process on loopback,
# each with its PID in .maas/run/pids and its log in .maas/run/logs. Used by ./run.sh.
#
#   infra/mesh.sh start     start broker + registry, trainer, updater, 2 inference replicas, gateway; wait until healthy
#   infra/mesh.sh stop      stop every process it started (by PID) and the broker
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

run=.maas/run
data=.maas/demo
config=Release
export MAAS_RABBITMQ_PORT=${MAAS_RABBITMQ_PORT:-5672}

# name  project-dir  grpc-port  http-port  metrics-port (Prometheus /metrics)
services=(
  "registry  services/MaaS.Registry   7001 0 7091"
  "trainer   services/MaaS.Trainer    7002 0 7092"
  "updater   services/MaaS.Updater    7003 0 7093"
  "inference-a services/MaaS.Inference 7101 7111 7191"
  "inference-b services/MaaS.Inference 7102 7112 7192"
  "gateway   gateway/MaaS.Gateway     8001 8000 8002"
)

dll_of() {
  local dir=$1 name; name=$(basename "$dir")
  find "$dir/bin/$config" -name "$name.dll" -path "*net10.0*" | head -1
}

common_args() {
  echo "--Bus:Port=$MAAS_RABBITMQ_PORT --Services:Registry=http://127.0.0.1:7001 --Services:Trainer=http://127.0.0.1:7002 --Services:Updater=http://127.0.0.1:7003"
}

extra_args() {
  case $1 in
    inference-a) echo "--Inference:Pool=default --Inference:ReplicaId=inference-a" ;;
    inference-b) echo "--Inference:Pool=default --Inference:ReplicaId=inference-b" ;;
    gateway) echo "--Gateway:Replicas:0:Name=inference-a --Gateway:Replicas:0:Pool=default --Gateway:Replicas:0:GrpcAddress=http://127.0.0.1:7101 --Gateway:Replicas:0:RestAddress=http://127.0.0.1:7111 --Gateway:Replicas:1:Name=inference-b --Gateway:Replicas:1:Pool=default --Gateway:Replicas:1:GrpcAddress=http://127.0.0.1:7102 --Gateway:Replicas:1:RestAddress=http://127.0.0.1:7112" ;;
  esac
}

start_one() {
  local name=$1 dir=$2 grpc=$3 http=$4 metrics=$5 dll
  dll=$(dll_of "$dir")
  [ -n "$dll" ] || { echo "[mesh] $dir is not built; run infra/setup.sh" >&2; exit 1; }
  if [ -f "$run/pids/$name.pid" ] && kill -0 "$(cat "$run/pids/$name.pid")" 2>/dev/null; then
    echo "[mesh] $name already runs (pid $(cat "$run/pids/$name.pid"))"; return
  fi
  # shellcheck disable=SC2046
  setsid dotnet "$dll" --Mesh:GrpcPort="$grpc" --Mesh:HttpPort="$http" --Mesh:MetricsPort="$metrics" --Mesh:DataDirectory="$data/$name" \
    $(common_args) $(extra_args "$name") > "$run/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/pids/$name.pid"
  local rest=""; [ "$http" != 0 ] && rest=", http 127.0.0.1:$http"
  echo "[mesh] started $name (pid $!) grpc 127.0.0.1:$grpc$rest, metrics 127.0.0.1:$metrics"
}

wait_healthy() {
  local name=$1 grpc=$2 deadline=$((SECONDS + 120))
  until curl -sf --http2-prior-knowledge "http://127.0.0.1:$grpc/healthz" > /dev/null 2>&1; do
    if ! kill -0 "$(cat "$run/pids/$name.pid")" 2>/dev/null; then
      echo "[mesh] $name exited; its log:" >&2; tail -30 "$run/logs/$name.log" >&2; return 1
    fi
    if [ $SECONDS -gt $deadline ]; then
      echo "[mesh] $name not healthy after 120 s; its log:" >&2; tail -30 "$run/logs/$name.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "[mesh] $name healthy"
}

start() {
  mkdir -p "$run/pids" "$run/logs"
  infra/rabbitmq.sh start
  for entry in "${services[@]}"; do
    # shellcheck disable=SC2086
    start_one $entry
  done
  for entry in "${services[@]}"; do
    read -r name _ grpc _ _ <<< "$entry"
    wait_healthy "$name" "$grpc"
  done
}

stop() {
  if [ -d "$run/pids" ]; then
    for pidfile in "$run"/pids/*.pid; do
      [ -e "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        echo "[mesh] stopped $(basename "$pidfile" .pid) (pid $pid)"
      fi
      rm -f "$pidfile"
    done
  fi
  infra/rabbitmq.sh stop
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  reset) rm -rf "$data" ;;
  *) echo "usage: $0 start|stop|reset" >&2; exit 2 ;;
esac
