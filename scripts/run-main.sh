#!/usr/bin/env bash
# The main job: installs what is missing (scripts/setup.sh), builds `coop` in release mode and runs `coop demo`:
# three district nodes (Shapingba, Wuhou, Qingbaijiang) as processes on this machine, reconciling over CurveZMQ,
# through a scenario printed one numbered line per step — updates on both sides, a node killed, a network partition
# and the conflict it leaves, reconnection and resolution, a joint item completed and signed off by both sides, a
# clean stop with an offline audit of each node's log, and the wall chart of the 40 items.
# Arguments are passed to `coop demo` (e.g. --dir DIR to keep the mesh somewhere chosen; default: a fresh temporary
# directory, printed first and left in place for exploring).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product coop
coop="$(swift build -c release --show-bin-path)/coop"

"$coop" --version
"$coop" demo "$@"
