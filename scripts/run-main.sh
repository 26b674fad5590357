#!/usr/bin/env bash
# The main job: installs what is missing, builds `coop` in release mode and runs it on the embedded defaults
# (deploy/catalog.json and deploy/roster.json): checks the reference data and prints the 40 items.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
swift build -c release --product coop
coop="$(swift build -c release --show-bin-path)/coop"

"$coop" --version
"$coop" catalog check deploy/catalog.json --roster deploy/roster.json
"$coop" catalog list --roster deploy/roster.json
