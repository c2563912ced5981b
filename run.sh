#!/usr/bin/env bash
# MaaS.Mesh on one machine: sets up what is missing, starts the broker and every service, then walks
# a model through its whole life (train → register → deploy → serve → update) through the gateway.
#
#   ./run.sh            set up, start, walk through, keep serving until Ctrl-C (then stop everything)
#   ./run.sh --detach   set up, start, walk through, return and leave the mesh running
#   ./run.sh stop       stop every process ./run.sh started and the broker
set -euo pipefail
cd "$(dirname "$0")"

case "${1:-}" in
  stop) exec infra/mesh.sh stop ;;
  ""|--detach) ;;
  *) echo "usage: ./run.sh [--detach|stop]" >&2; exit 2 ;;
esac

infra/setup.sh
infra/mesh.sh stop > /dev/null 2>&1 || true
# The walkthrough tells one story from the start, so the demo state begins empty each time.
infra/mesh.sh reset
if [ "${1:-}" != "--detach" ]; then
  trap 'echo; infra/mesh.sh stop' EXIT
fi
infra/mesh.sh start

cli=$(find services/MaaS.Cli/bin/Release -name maas.dll | head -1)
MAAS_CLI_DLL="$cli" infra/walkthrough.sh

cat <<MSG

The mesh is running: gateway REST http://127.0.0.1:8000, gRPC 127.0.0.1:8001 (logs in .maas/run/logs).
Admin API key (created on the gateway's first start, kept in .maas/admin.key, mode 600): $(cat .maas/admin.key 2>/dev/null)
Every call sends a key as 'authorization: Bearer <key>'; \`maas keys create\` makes keys with fewer scopes.
Try:  curl -s -X POST http://127.0.0.1:8000/v2/models/linear-regression/infer \\
        -H "authorization: Bearer \$(cat .maas/admin.key)" \\
        -H 'content-type: application/json' \\
        -d '{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","data":[4,5]}]}'
MSG

if [ "${1:-}" = "--detach" ]; then
  echo "Stop it with: ./run.sh stop"
  exit 0
fi
echo "Serving until Ctrl-C."
while true; do sleep 3600; done
