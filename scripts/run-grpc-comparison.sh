#!/usr/bin/env bash
# Builds and runs the gRPC comparison (issue 7 §6): CoopRPC's unary round trip against grpc-swift-2's over HTTP/2 on
# loopback, in one run. Two release builds:
#
#   - coop-bench, as scripts/run-benchmarks.sh builds it (scratch path .build-release);
#   - Benchmarks/GRPCComparison, a separate package (its own .build), so that the everyday build, the tests and CI
#     never build grpc-swift. Its first build compiles grpc-swift, SwiftNIO and BoringSSL: 8 minutes or more on the
#     2-core machine (40–45 minutes while other builds shared it); later ones take about a minute.
#
# Then grpc-comparison runs grpc-swift in its own process and CoopRPC as `coop-bench rpc-unary` children, in
# alternating rounds, and prints both, the ratio and the goal. Arguments are passed to grpc-comparison, e.g.:
#
#   scripts/run-grpc-comparison.sh                  # 20,000 calls of each kind in 3 rounds
#   scripts/run-grpc-comparison.sh --quick          # 3,000 calls in 2 rounds
#
# Figures go to standard output; build logs and progress to standard error. See docs/BENCHMARKS.md.
set -euo pipefail
command_line="$0${*:+ $*}"
cd "$(dirname "$0")/.."

echo "== building coop-bench (release)" >&2
swift build -c release --scratch-path .build-release --product coop-bench >&2
coop_bench="$(swift build -c release --scratch-path .build-release --show-bin-path)/coop-bench"

echo "== building Benchmarks/GRPCComparison (release; the first build takes 8 minutes or more)" >&2
swift build -c release --package-path Benchmarks/GRPCComparison --product grpc-comparison >&2
comparison="$(swift build -c release --package-path Benchmarks/GRPCComparison --show-bin-path)/grpc-comparison"

GRPC_COMPARISON_COMMAND="$command_line" exec "$comparison" --coop-bench "$coop_bench" "$@"
