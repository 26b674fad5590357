#!/usr/bin/env bash
# Builds coop-bench in release mode (its own scratch path, .build-release) and runs it from the repository root;
# arguments are passed through, e.g.:
#
#   scripts/run-benchmarks.sh                  # the full run: 1,000,000-entry log (a few minutes)
#   scripts/run-benchmarks.sh --quick          # small sizes, under a minute
#   scripts/run-benchmarks.sh --entries 200000 --dir /mnt/other-disk
#
# Figures go to standard output, progress to standard error. See docs/BENCHMARKS.md.
set -euo pipefail
command_line="$0${*:+ $*}"
cd "$(dirname "$0")/.."

swift build -c release --scratch-path .build-release --product coop-bench >&2
bench="$(swift build -c release --scratch-path .build-release --show-bin-path)/coop-bench"

COOP_BENCH_COMMAND="$command_line" exec "$bench" "$@"
