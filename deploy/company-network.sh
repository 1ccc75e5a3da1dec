#!/usr/bin/env bash
# Start a small company network on one machine, each node a separate process with its own
# SQLite database: head office, Maastricht and Eindhoven on ports 8101-8103. A sketch of what
# runs on separate servers in production (one node per server, see docs/operators.md).
# Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PLEIN=${PLEIN:-.venv/bin/plein}
DIR=${DIR:-company-data}
declare -A NAMES=([8101]="Head office" [8102]="Maastricht" [8103]="Eindhoven")
ALLOW=127.0.0.1:8101,127.0.0.1:8102,127.0.0.1:8103
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for port in 8101 8102 8103; do
    export PLEIN_BASE_URL=http://127.0.0.1:$port PLEIN_NAME="${NAMES[$port]}" \
        PLEIN_DATA_DIR=$DIR/$port PLEIN_ALLOW=$ALLOW
    "$PLEIN" migrate
    "$PLEIN" run &
    pids+=($!)
done
echo "Nodes: http://127.0.0.1:8101/ http://127.0.0.1:8102/ http://127.0.0.1:8103/"
echo "Add people with: PLEIN_BASE_URL=http://127.0.0.1:8101 PLEIN_DATA_DIR=$DIR/8101 $PLEIN user add NAME"
wait
