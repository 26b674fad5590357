#!/usr/bin/env bash
# Builds coop-bench and coop in release mode (their own scratch path, .build-release) and runs coop-bench from the
# repository root, with the release coop (section 8 runs it as `coop node run`) in COOP_BENCH_COOP; arguments are
# passed through, e.g.:
#
#   scripts/run-benchmarks.sh                  # the full run: 1,000,000-entry log, 7 (RPC), 8 (node) (a few minutes)
#   scripts/run-benchmarks.sh --quick          # small sizes, about two minutes
#   scripts/run-benchmarks.sh --rpc            # 7 only: CoopRPC vs raw ZeroMQ (under a minute)
#   scripts/run-benchmarks.sh --node           # 8 only: the node (signing, updates, latency, memory, restart)
#   scripts/run-benchmarks.sh --entries 200000 --dir /mnt/other-disk
#
# The comparison with grpc-swift is a separate package with its own script: scripts/run-grpc-comparison.sh.
#
# Figures go to standard output, progress to standard error. See docs/BENCHMARKS.md.
set -euo pipefail
command_line="$0${*:+ $*}"
cd "$(dirname "$0")/.."

swift build -c release --scratch-path .build-release --product coop-bench >&2
swift build -c release --scratch-path .build-release --product coop >&2
bin="$(swift build -c release --scratch-path .build-release --show-bin-path)"

COOP_BENCH_COMMAND="$command_line" COOP_BENCH_COOP="$bin/coop" exec "$bin/coop-bench" "$@"
