#!/usr/bin/env bash
# Builds coop-bench in release mode (its own scratch path, .build-release) and runs it from the repository root;
# arguments are passed through, e.g.:
#
#   scripts/run-benchmarks.sh                  # the full run: 1,000,000-entry log, then 7 (RPC) (a few minutes)
#   scripts/run-benchmarks.sh --quick          # small sizes, about a minute
#   scripts/run-benchmarks.sh --rpc            # 7 only: CoopRPC vs raw ZeroMQ (under a minute)
#   scripts/run-benchmarks.sh --entries 200000 --dir /mnt/other-disk
#
# The comparison with grpc-swift is a separate package with its own script: scripts/run-grpc-comparison.sh.
#
# Figures go to standard output, progress to standard error. See docs/BENCHMARKS.md.
set -euo pipefail
command_line="$0${*:+ $*}"
cd "$(dirname "$0")/.."

swift build -c release --scratch-path .build-release --product coop-bench >&2
bench="$(swift build -c release --scratch-path .build-release --show-bin-path)/coop-bench"

COOP_BENCH_COMMAND="$command_line" exec "$bench" "$@"
