#!/usr/bin/env bash
# The main job: installs what is missing, builds `coop` in release mode and runs it on the embedded defaults
# (deploy/catalog.json, deploy/roster.json, deploy/demo/keys): checks the reference data, lists the 40 items,
# then writes a demo log of the three example nodes (Shapingba, Wuhou, Qingbaijiang), verifies it as an auditor
# would and replays the ledger from it. (The peer daemon and the loopback mesh come with the RPC issues.)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product coop
coop="$(swift build -c release --show-bin-path)/coop"
work="$(mktemp -d "${TMPDIR:-/tmp}/coop-main-XXXXXX")"
trap 'rm -rf "$work"' EXIT

"$coop" --version
"$coop" catalog check deploy/catalog.json --roster deploy/roster.json
"$coop" catalog list --roster deploy/roster.json
echo
"$coop" dev generate-log "$work/node" --entries "${COOP_DEMO_ENTRIES:-20000}"
"$coop" audit verify "$work/node"
"$coop" audit replay "$work/node"
echo
"$coop" audit history "$work/node" CY-05 | tail -n 12
