#!/usr/bin/env bash
# Starts a local three-district mesh on this machine and keeps it running until Ctrl-C:
#   1. `coop dev mesh DIR` writes fresh keys, roster, catalog, DIR/nodes/<node>.toml (free loopback ports)
#      and DIR/clients/<member>.toml;
#   2. one `coop node run --config DIR/nodes/<node>.toml` per district, in the background, each waited for
#      until it prints its readiness line ("coop node <id> ready: serving …");
#   3. prints how to talk to them; on Ctrl-C, SIGTERM or exit, stops every node it started (SIGTERM: they
#      drain and exit 0) and waits for them.
#
# Usage: deploy/start-local-mesh.sh [DIR]
#   DIR   a directory that does not exist or is empty (default: a new one under ${TMPDIR:-/tmp}); it is kept
#         afterwards, with the nodes' data and logs, for `coop audit`.
# Environment:
#   COOP               the coop binary (default: `coop` on PATH, else the newer of .build/release/coop and
#                      .build/debug/coop)
#   COOP_READY_TIMEOUT seconds to wait for each node's readiness line (default 60)
#
# Logs: DIR/logs/<node>.log (stderr, one line per event) and DIR/logs/<node>.out (the readiness line).
# Exit status: 0 after a clean stop; 1 when a node failed to start or stopped on its own.
# `coop dev mesh` lists the other two nodes as each node's peers, so the three reconcile: an update made
# through one node shows on the others within seconds.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nodes=(cq-shapingba cd-wuhou cd-qingbaijiang)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    usage
    exit 0
fi
if [[ $# -gt 1 || ${1:-} == -* ]]; then
    usage >&2
    exit 64
fi

coop="${COOP:-$(command -v coop || true)}"
if [[ -z $coop ]]; then
    # The newer of this checkout's release and debug builds.
    for candidate in "$repo/.build/release/coop" "$repo/.build/debug/coop"; do
        if [[ -x $candidate && ( -z $coop || $candidate -nt $coop ) ]]; then
            coop="$candidate"
        fi
    done
fi
if [[ -z $coop || ! -x $coop ]]; then
    echo "start-local-mesh: no coop binary: put it on PATH, set COOP=…, or build it (swift build --product coop)" >&2
    exit 2
fi

# How to name the binary in the hints printed below.
show="$coop"
[[ "$(command -v coop || true)" == "$coop" ]] && show=coop

dir="${1:-$(mktemp -d "${TMPDIR:-/tmp}/coop-mesh-XXXXXX")}"
"$coop" dev mesh "$dir" --catalog "$repo/deploy/catalog.json"
dir="$(cd "$dir" && pwd)"
mkdir -p "$dir/logs"

pids=()
names=()
stopping=0

stop_all() {
    local status=$?
    [[ $stopping == 1 ]] && return
    stopping=1
    trap '' INT TERM
    local i pid code
    for i in "${!pids[@]}"; do
        kill -TERM "${pids[$i]}" 2>/dev/null || true
    done
    for i in "${!pids[@]}"; do
        pid="${pids[$i]}"
        # Each node drains within its drain_timeout_ms (10 s); give it 30 s, then SIGKILL.
        for _ in $(seq 300); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "start-local-mesh: ${names[$i]} (pid $pid) did not stop in 30 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        code=0
        wait "$pid" 2>/dev/null || code=$?
        echo "stopped ${names[$i]} (exit $code)"
    done
    echo "mesh directory kept: $dir"
    exit "$status"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

ready_timeout="${COOP_READY_TIMEOUT:-60}"
for node in "${nodes[@]}"; do
    # setsid: the node gets no Ctrl-C of its own; this script stops it with SIGTERM.
    setsid "$coop" node run --config "$dir/nodes/$node.toml" >"$dir/logs/$node.out" 2>"$dir/logs/$node.log" &
    pids+=($!)
    names+=("$node")
    pid=$!
    deadline=$((SECONDS + ready_timeout))
    until grep -qs " ready: serving " "$dir/logs/$node.out"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            code=0
            wait "$pid" || code=$?
            echo "start-local-mesh: $node stopped before it was ready (exit $code); its log:" >&2
            tail -n 20 "$dir/logs/$node.log" >&2
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            echo "start-local-mesh: $node printed no readiness line in $ready_timeout s; its log:" >&2
            tail -n 20 "$dir/logs/$node.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    cat "$dir/logs/$node.out"
done

cat <<EOF

Three nodes are running (data in $dir/data, logs in $dir/logs). Try:
  $show item list --mesh $dir --as staff.shapingba
  $show item update CY-01 --status assigned --progress 5 --note "分办" --mesh $dir --as staff.shapingba
  $show item watch --mesh $dir --as auditor.shapingba
  $show call --mesh $dir --as auditor.shapingba coop.v1.Health/Check '{}'
  tail -f $dir/logs/*.log
Members: staff.<district> and auditor.<district> for shapingba, wuhou, qingbaijiang. The nodes reconcile:
an update made through one shows on the others within seconds (a write in the first moments, before a
peer has answered, may be refused with UNAVAILABLE (OWN_LOG_UNCONFIRMED): retry).
Ctrl-C stops all three nodes.
EOF

# Wait until Ctrl-C / SIGTERM (the trap stops the nodes) or until a node stops on its own.
while :; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "start-local-mesh: ${names[$i]} stopped on its own; see $dir/logs/${names[$i]}.log" >&2
            exit 1
        fi
    done
    sleep 1 &
    wait $! || true
done
